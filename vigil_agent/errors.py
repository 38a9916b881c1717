"""The agent's one action error: the action ran and failed, and its message is reported."""


class ActionError(Exception):
    """The action ran and failed; the message is reported as the command's error."""

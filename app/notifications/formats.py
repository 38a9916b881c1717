"""Webhook bodies for chat tools, beside Vigil's own signed JSON document.

- Slack incoming webhooks take `{"text": ..., "blocks": [...]}` (Block Kit; `text` is the
  fallback shown in notifications).
- Microsoft Teams (Workflows "post to a channel when a webhook request is received", and
  the older connectors) take a message whose attachment is an Adaptive Card.

Both carry the title, the body, the severity and a button to the object in Vigil. The
signature header is still sent when the channel has a secret; these receivers ignore it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

WEBHOOK_FORMATS = {"vigil": "Vigil JSON (signed)", "slack": "Slack", "teams": "Microsoft Teams"}
SEVERITY_MARK = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}
TEAMS_COLOUR = {"critical": "attention", "warning": "warning", "info": "accent"}


def slack(payload: dict[str, Any], link: str | None) -> dict[str, Any]:
    severity = payload.get("severity") or "info"
    title = payload.get("title") or payload.get("event") or "Vigil"
    text = f"{SEVERITY_MARK.get(severity, '')} [{severity}] {title}".strip()
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*"}}]
    if payload.get("body"):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": str(payload["body"])[:2900]}})
    if link:
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open in Vigil"}, "url": link}]})
    return {"text": text, "blocks": blocks}


def teams(payload: dict[str, Any], link: str | None) -> dict[str, Any]:
    severity = payload.get("severity") or "info"
    title = payload.get("title") or payload.get("event") or "Vigil"
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": True, "text": title,
         "color": TEAMS_COLOUR.get(severity, "default")},
        {"type": "FactSet", "facts": [{"title": "Severity", "value": severity},
                                      {"title": "Event", "value": str(payload.get("event") or "")}]},
    ]
    if payload.get("body"):
        body.append({"type": "TextBlock", "wrap": True, "text": str(payload["body"])})
    card: dict[str, Any] = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                            "type": "AdaptiveCard", "version": "1.4", "body": body}
    if link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in Vigil", "url": link}]
    return {"type": "message", "summary": title,
            "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
                             "content": card}]}


FORMATTERS: dict[str, Callable[[dict[str, Any], str | None], dict[str, Any]]] = {"slack": slack, "teams": teams}

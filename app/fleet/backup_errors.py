"""The error every backup rule raises (backups.py and backup_repository.py both do)."""


class BackupError(Exception):
    def __init__(self, code: str, message: str, status: int = 422, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.code, self.status, self.fields = code, status, fields

"""Media attached to a network: photos, recordings, videos and documents.

The type is decided by the file's first bytes (its magic number), never by the name or the
browser's Content-Type alone, and the name's extension must agree with what the bytes are.
SVG and HTML are not accepted at all (they can carry script). Files live under
instance/wireless-media/<org id>/ with random names; the stored MIME type is the sniffed
one, so what is served back is what was checked. Images get a thumbnail at upload.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import IO

from flask import current_app
from PIL import Image, UnidentifiedImageError

from app import audit
from app.core.settings_registry import get_setting
from app.models import User, db
from app.models.wireless import Network, NetworkMedia
from app.uploads import TooLarge, copy_limited, sniff, stored_file

THUMB_SIZE = (320, 320)
# extension -> (media type, MIME type); the sniffed kind must map to the same entry.
EXTENSIONS = {
    "jpg": ("image", "image/jpeg"), "jpeg": ("image", "image/jpeg"), "png": ("image", "image/png"),
    "gif": ("image", "image/gif"), "webp": ("image", "image/webp"),
    "mp3": ("audio", "audio/mpeg"), "wav": ("audio", "audio/wav"), "ogg": ("audio", "audio/ogg"),
    "flac": ("audio", "audio/flac"), "m4a": ("audio", "audio/mp4"),
    "mp4": ("video", "video/mp4"), "m4v": ("video", "video/mp4"), "mov": ("video", "video/quicktime"),
    "webm": ("video", "video/webm"), "mkv": ("video", "video/x-matroska"),
    "pdf": ("document", "application/pdf"), "txt": ("document", "text/plain"), "csv": ("document", "text/plain"),
    "md": ("document", "text/plain"), "log": ("document", "text/plain"),
}
ALLOWED_NAMES = ", ".join(sorted(EXTENSIONS))


class MediaError(ValueError):
    """An upload that is refused; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


def max_bytes() -> int:
    return int(get_setting("wireless.media_max_mb")) * 1024 * 1024


def media_root() -> Path:
    """instance/wireless-media, or VIGIL_MEDIA_DIR (WIRELESS_MEDIA_DIR) when set."""
    configured = current_app.config.get("WIRELESS_MEDIA_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "wireless-media"


def _thumbnail(source: Path, dest: Path) -> None:
    with Image.open(source) as img:
        img.thumbnail(THUMB_SIZE)
        if img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        img.save(dest, "JPEG", quality=80)


def save_upload(network: Network, stream: IO[bytes], filename: str, description: str | None,
                actor: User) -> NetworkMedia:
    """Check and store one upload for a network; MediaError (with a status) when refused."""
    name = Path(filename or "").name.strip()
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in EXTENSIONS:
        raise MediaError(f"Files of this type are not accepted; allowed: {ALLOWED_NAMES}.", 415)
    media_type, expected = EXTENSIONS[ext]
    folder = media_root() / str(network.org_id)
    folder.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    limit = max_bytes()
    try:
        stored = copy_limited(stream, folder / f"{token}.{ext}", limit)
    except TooLarge:
        raise MediaError(f"The file is larger than the limit of {limit // (1024 * 1024)} MB.", 413) from None
    try:
        if stored.size == 0:
            raise MediaError("The file is empty.")
        found = sniff(stored.head)
        if found != expected:
            what = f"its content is {found}" if found else "its content is not a recognised file type"
            raise MediaError(f"{name} is named .{ext} but {what}.", 415)
        thumb = None
        if media_type == "image":
            try:
                with Image.open(stored.path) as img:
                    img.verify()  # a truncated or forged body fails here, not in a browser
                thumb = folder / f"{token}.thumb.jpg"
                _thumbnail(stored.path, thumb)
            except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
                raise MediaError(f"{name} is not a readable image ({exc.__class__.__name__}).", 415) from None
    except MediaError:
        stored.path.unlink(missing_ok=True)
        raise
    root = media_root()
    row = NetworkMedia(org_id=network.org_id, network_id=network.id, media_type=media_type,
                       file_path=str(stored.path.relative_to(root)), original_filename=name[:255],
                       file_size=stored.size, sha256=stored.sha256, mime_type=expected,
                       thumbnail_path=str(thumb.relative_to(root)) if thumb else None,
                       uploaded_by_id=actor.id, description=(description or "").strip() or None)
    db.session.add(row)
    db.session.flush()
    audit.record("wireless.media_uploaded", resource_type="network_media", resource_id=row.id,
                 new={"network_id": network.id, "filename": row.original_filename, "media_type": media_type,
                      "size": stored.size, "sha256": stored.sha256})
    return row


def file_of(row: NetworkMedia, thumbnail: bool = False) -> Path | None:
    """The stored file of a row, refusing any path that would leave the media folder."""
    return stored_file(media_root(), row.thumbnail_path if thumbnail else row.file_path)


def delete_media(row: NetworkMedia) -> list[Path]:
    """Delete the row (audited); returns the files to remove once the transaction commits."""
    files = [p for p in (file_of(row), file_of(row, thumbnail=True)) if p]
    audit.record("wireless.media_deleted", resource_type="network_media", resource_id=row.id,
                 old={"network_id": row.network_id, "filename": row.original_filename, "sha256": row.sha256})
    db.session.delete(row)
    db.session.flush()
    return files


def remove_files(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)

"""The settings registry moved to app/core/settings_registry.py (domains read it, admin edits
it); this keeps the admin package's old import path for existing callers."""

from app.core.settings_registry import (  # noqa: F401
    RATING_DEFAULTS,
    SETTINGS,
    SettingSpec,
    get_setting,
    rating_thresholds,
    save_setting,
    spec_for,
    stored_rows,
)

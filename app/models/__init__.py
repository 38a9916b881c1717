"""The shared model package: every table of every domain, re-exported so Alembic sees them."""

from app.models.api import ApiKey, RefreshToken
from app.models.base import JSONType, db, utcnow
from app.models.fleet import (
    Device,
    DeviceClaimCode,
    DockerContainer,
    Heartbeat,
    MetricRollup,
    ScannerStats,
    ServiceStatus,
    Subscription,
)
from app.models.identity import ROLES, LoginAttempt, User, UserSession
from app.models.incidents import IncidentUpdate, SecurityIncident
from app.models.metrics import (
    Framework,
    FrameworkCategory,
    FrameworkFunction,
    FrameworkScore,
    FrameworkSubcategory,
    FunctionScore,
    Metric,
    MetricHistory,
)
from app.models.notifications import Notification, NotificationChannel, NotificationDelivery
from app.models.platform import AuditLog, JobRun, Setting
from app.models.security import MfaBackupCode, PasswordHistory, SecurityEvent, TrustedDevice
from app.models.tenancy import Organization, Site
from app.models.threats import IocSighting, RateLimitEntry, ThreatEvent, ThreatIntelligence

__all__ = [
    "JSONType",
    "db",
    "utcnow",
    "ROLES",
    "LoginAttempt",
    "User",
    "UserSession",
    "Notification",
    "NotificationChannel",
    "NotificationDelivery",
    "AuditLog",
    "JobRun",
    "Setting",
    "Organization",
    "Site",
    "MfaBackupCode",
    "PasswordHistory",
    "SecurityEvent",
    "TrustedDevice",
    "IocSighting",
    "ThreatIntelligence",
    "RateLimitEntry",
    "ThreatEvent",
    "IncidentUpdate",
    "SecurityIncident",
    "ApiKey",
    "RefreshToken",
    "Device",
    "DeviceClaimCode",
    "Heartbeat",
    "MetricRollup",
    "ServiceStatus",
    "DockerContainer",
    "ScannerStats",
    "Subscription",
    "Framework",
    "FrameworkFunction",
    "FrameworkCategory",
    "FrameworkSubcategory",
    "Metric",
    "MetricHistory",
    "FunctionScore",
    "FrameworkScore",
]

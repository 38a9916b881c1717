"""Fleet rules: device creation under the subscription limit, claim codes, enrolment
(fingerprint, overlay IP, WireGuard peer config, device key) and online status.

Views, the CLI and the agent API all call these; none of them commits (the caller does).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from app import audit
from app.alerting import events
from app.auth.api_keys import KEY_PREFIX, digest
from app.core.settings_registry import get_setting
from app.fleet.queries import online_cutoff
from app.models import ApiKey, Device, DeviceClaimCode, Organization, Subscription, User, db, utcnow
from app.models.fleet import DEVICE_SCOPES, DEVICE_TYPES

CLAIM_CODE_HOURS = 24
DEFAULT_HEARTBEAT_INTERVAL = 60
ALLOCATION_ATTEMPTS = 5


class FleetError(Exception):
    """A fleet rule refused the action; `code` is the API's stable error code, `status` its HTTP status."""

    def __init__(self, code: str, message: str, status: int = 409, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.code = code
        self.status = status
        self.fields = fields


# Subscriptions ------------------------------------------------------------------------------

def active_subscription(org_id: int) -> Subscription | None:
    """The organization's current subscription (active or trialing), newest first."""
    return db.session.scalar(
        sa.select(Subscription).where(Subscription.org_id == org_id,
                                      Subscription.status.in_(("active", "trialing")))
        .order_by(Subscription.start_date.desc(), Subscription.id.desc()).limit(1))


def device_count(org_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count(Device.id)).where(
        Device.org_id == org_id, Device.deleted_at.is_(None))) or 0


def device_quota(org_id: int) -> tuple[int | None, str, Subscription | None]:
    """(the organization's device quota, who sets it in words, its active subscription): the
    subscription's max_devices (None: unlimited), or fleet.unsubscribed_device_quota without one."""
    subscription = active_subscription(org_id)
    if subscription is not None:
        return subscription.max_devices, f"The subscription '{subscription.plan_name}'", subscription
    return get_setting("fleet.unsubscribed_device_quota"), "Without an active subscription, Vigil", None


def check_device_limit(org_id: int) -> Subscription | None:
    """Refuse a new device past the organization's quota (device_quota). Each organization
    has its own quota, so no tenant can use up another's share."""
    quota, source, subscription = device_quota(org_id)
    if quota is not None:
        count = device_count(org_id)
        if count >= quota:
            raise FleetError("device_limit_reached",
                             f"{source} allows {quota} device(s) and this organization has {count}. "
                             "Raise the limit or remove a device.")
    return subscription


def check_enrolment_limit(device: Device) -> None:
    """Refuse an enrolment past the quota as it is now: a subscription lowered after the
    device was created must not let more devices come online than it allows."""
    quota, source, _ = device_quota(device.org_id)
    if quota is None:
        return
    enrolled = db.session.scalar(sa.select(sa.func.count(Device.id)).where(
        Device.org_id == device.org_id, Device.deleted_at.is_(None), Device.enrolled_at.is_not(None),
        Device.id != device.id)) or 0
    if enrolled >= quota:
        raise FleetError("device_limit_reached",
                         f"{source} allows {quota} device(s) and this organization already has {enrolled} "
                         "enrolled. Raise the limit or remove an enrolled device, then enrol this one again "
                         "(its claim code stays valid).")


# Devices and claim codes ---------------------------------------------------------------------

def new_claim_code(device: Device, created_by: User | None) -> str:
    """Issue a one-time claim code for `device` (24 hours); returns the code, stores its SHA-256."""
    code = "-".join(secrets.token_hex(3).upper() for _ in range(4))
    db.session.add(DeviceClaimCode(org_id=device.org_id, device_id=device.id, code_hash=digest(code),
                                   expires_at=utcnow() + timedelta(hours=CLAIM_CODE_HOURS),
                                   created_by_id=getattr(created_by, "id", None)))
    return code


def create_device(org_id: int, *, name: str, device_type: str, site_id: int | None = None,
                  environment: str = "production", tags: list[str] | None = None, notes: str | None = None,
                  actor: User | None = None, actor_label: str | None = None) -> tuple[Device, str]:
    """Create a pending device and its first claim code (audited); returns (device, code)."""
    if device_type not in DEVICE_TYPES:
        raise FleetError("validation_error", f"Unknown device type {device_type!r}.", 422)
    subscription = check_device_limit(org_id)
    org = db.session.get(Organization, org_id)
    device = Device(org_id=org_id, hostname=name, device_name=name, device_type=device_type, site_id=site_id,
                    environment=environment, tags=sorted(set(tags or [])), notes=notes,
                    billing_type="internal" if org is not None and org.type == "internal" else "customer",
                    subscription_id=subscription.id if subscription else None,
                    heartbeat_interval=DEFAULT_HEARTBEAT_INTERVAL)
    db.session.add(device)
    db.session.flush()
    code = new_claim_code(device, actor)
    # An organization's first device brings the default alert rules (app/fleet/alert_rules.py subscribes).
    events.publish("fleet.device_created", org_id=org_id, actor=actor)
    audit.record("device.created", resource_type="device", resource_id=device.id, org_id=org_id, actor=actor,
                 actor_type=None if actor else "system", actor_label=actor_label,
                 new={"name": name, "device_type": device_type, "site_id": site_id, "environment": environment,
                      "tags": device.tags})
    return device, code


def reissue_claim_code(device: Device, actor: User | None) -> str:
    """A fresh claim code for a device not enrolled yet; earlier unused codes stop working."""
    if device.enrolled_at is not None:
        raise FleetError("already_enrolled", "This device is already enrolled.")
    db.session.execute(sa.update(DeviceClaimCode).where(DeviceClaimCode.device_id == device.id,
                                                        DeviceClaimCode.used_at.is_(None))
                       .values(expires_at=utcnow()))
    code = new_claim_code(device, actor)
    audit.record("device.claim_code_issued", resource_type="device", resource_id=device.id, org_id=device.org_id,
                 actor=actor)
    return code


def public_base_url() -> tuple[str, bool]:
    """(the URL devices should reach this server at, whether it is a guess).

    VIGIL_PUBLIC_URL when it is set; otherwise the scheme and host the admin is using right
    now (behind a proxy, as VIGIL_PROXY_HOPS lets Werkzeug see them); outside a request, the
    built-in default. Anything but the configured URL is a guess and is said to be one.
    """
    if current_app.config.get("PUBLIC_BASE_URL_SET"):
        return current_app.config["PUBLIC_BASE_URL"].rstrip("/"), False
    if has_request_context():
        return request.host_url.rstrip("/"), True
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/"), True


def install_command(code: str, server: str | None = None) -> str:
    return f"vigil agent run --server {server or public_base_url()[0]} --claim-code {code}"


def delete_device(device: Device, actor: User) -> None:
    """Soft-delete a device: its keys are revoked and its overlay IP returns to the pool."""
    device.soft_delete()
    device.status = "decommissioned"
    old_ip = device.overlay_ip
    device.overlay_ip = None
    device.hardware_fingerprint = None
    db.session.execute(sa.update(ApiKey).where(ApiKey.device_id == device.id, ApiKey.revoked_at.is_(None))
                       .values(revoked_at=utcnow()))
    audit.record("device.deleted", resource_type="device", resource_id=device.id, org_id=device.org_id,
                 actor=actor, old={"overlay_ip": old_ip})


def is_online(device: Device, now: datetime | None = None) -> bool:
    """Online: a heartbeat within the last `fleet.online_minutes` (3 by default)."""
    return device.last_seen_at is not None and device.last_seen_at >= online_cutoff(now)


# Enrolment ------------------------------------------------------------------------------------

@dataclass
class Enrolment:
    device: Device
    api_key: str
    wireguard_config: str


def fingerprint(serial: str, macs: list[str], cpu_model: str) -> str:
    """SHA-256 of serial + sorted, normalised MAC addresses + CPU model."""
    normal = sorted(m.strip().lower().replace("-", ":") for m in macs)
    return hashlib.sha256("|".join([serial.strip(), ",".join(normal), cpu_model.strip()]).encode()).hexdigest()


def _valid_wg_key(value: str) -> bool:
    try:
        return len(value) == 44 and len(base64.b64decode(value, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def validate_enrolment(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Check the enrol payload; returns (clean values, field errors)."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}

    def text(key: str, value: Any, max_len: int, required: bool = True) -> str | None:
        if value is None or value == "":
            if required:
                errors[key] = "required"
            return None
        if not isinstance(value, str) or len(value) > max_len:
            errors[key] = f"a string of at most {max_len} characters"
            return None
        return value.strip()

    clean["claim_code"] = text("claim_code", data.get("claim_code"), 64)
    clean["hostname"] = text("hostname", data.get("hostname"), 255)
    key = text("wireguard_public_key", data.get("wireguard_public_key"), 64)
    if key is not None and not _valid_wg_key(key):
        errors["wireguard_public_key"] = "a base64 WireGuard public key (32 bytes)"
    clean["wireguard_public_key"] = key
    facts = data.get("facts")
    if not isinstance(facts, dict):
        errors["facts"] = "an object"
        return clean, errors
    clean["cpu_model"] = text("facts.cpu_model", facts.get("cpu_model"), 255)
    clean["serial"] = text("facts.serial", facts.get("serial"), 255)
    clean["os"] = text("facts.os", facts.get("os"), 100, required=False)
    clean["kernel"] = text("facts.kernel", facts.get("kernel"), 100, required=False)
    for name, low, high in (("cores", 1, 4096), ("ram_mb", 1, 1 << 24), ("disk_gb", 1, 1 << 20)):
        value = facts.get(name)
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON makes no difference between 8 and 8.0
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            errors[f"facts.{name}"] = f"a whole number from {low} to {high}"
        clean[name] = value
    macs = facts.get("mac_addresses")
    if (not isinstance(macs, list) or not macs or len(macs) > 64
            or not all(isinstance(m, str) and len(m.replace("-", ":").split(":")) == 6 and len(m) == 17
                       for m in macs)):
        errors["facts.mac_addresses"] = "a non-empty list of MAC addresses (aa:bb:cc:dd:ee:ff)"
    else:
        clean["mac_addresses"] = sorted({m.lower().replace("-", ":") for m in macs})
    return clean, errors


def find_claim_code(code: str) -> DeviceClaimCode:
    row = db.session.scalar(sa.select(DeviceClaimCode).where(DeviceClaimCode.code_hash == digest(code.strip()))
                            .with_for_update())
    now = utcnow()
    if row is None:
        raise FleetError("invalid_claim_code", "The claim code is unknown.", 401)
    if row.used_at is not None:
        raise FleetError("claim_code_used", "The claim code was already used.", 401)
    if row.expires_at <= now:
        raise FleetError("claim_code_expired", "The claim code expired; issue a new one.", 401)
    device = row.device
    if device.deleted_at is not None or device.enrolled_at is not None:
        raise FleetError("invalid_claim_code", "The claim code's device cannot be enrolled.", 401)
    return row


def overlay_network() -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(get_setting("fleet.overlay_network"))


def overlay_range(org_type: str) -> tuple[int, int]:
    """First and last address (as integers) of the organization type's overlay range."""
    kind = "internal" if org_type == "internal" else "customer"
    base = int(overlay_network().network_address)
    return (base + get_setting(f"fleet.overlay_{kind}_first"), base + get_setting(f"fleet.overlay_{kind}_last"))


def next_free_number(first: int, last: int) -> int | None:
    """The next free address of [first, last]: one past the highest taken (an indexed MAX),
    or, once the top is reached, the first address given back by a removed device (an
    indexed anti-join that stops at the first gap). Never a scan of every taken address
    in Python."""
    number = Device.overlay_ip_number
    highest = db.session.scalar(sa.select(sa.func.max(number)).where(number.between(first, last)))
    if highest is None:
        return first
    if highest < last:
        return highest + 1
    if db.session.scalar(sa.select(number).where(number == first)) is None:
        return first
    taken = aliased(Device)
    return db.session.scalar(
        sa.select(number + 1).where(number.between(first, last - 1),
                                    ~sa.exists().where(taken.overlay_ip_number == number + 1))
        .order_by(number).limit(1))


def overlay_candidates(org_type: str) -> list[str]:
    """The free overlay address to try next for this organization type ([] when full)."""
    free = next_free_number(*overlay_range(org_type))
    return [] if free is None else [str(ipaddress.IPv4Address(free))]


def allocate_overlay_ip(device: Device, org_type: str) -> str:
    """Give the device the next free address of its range. The unique constraint on
    overlay_ip is the guard: a concurrent enrolment that took the same address makes the
    savepoint fail, and the next free address is tried."""
    for _ in range(ALLOCATION_ATTEMPTS):
        free = overlay_candidates(org_type)
        if not free:
            first, last = overlay_range(org_type)
            raise FleetError("overlay_pool_full",
                             f"No free overlay address: the {org_type} range {ipaddress.IPv4Address(first)}"
                             f"-{ipaddress.IPv4Address(last)} is fully allocated (fleet.overlay_* settings).")
        try:
            with db.session.begin_nested():
                device.overlay_ip = free[0]
                db.session.flush()
        except IntegrityError:
            device.overlay_ip = None
            continue
        return free[0]
    raise FleetError("overlay_allocation_conflict", "Could not allocate an overlay address; retry the enrolment.", 503)


def wireguard_config(device: Device) -> str:
    """The agent's WireGuard config (the [Interface] without its private key, which never
    leaves the device, and the hub as its one peer), rendered as text."""
    config = current_app.config
    hub_key = config.get("FLEET_WG_SERVER_PUBLIC_KEY") or "<hub public key: set FLEET_WG_SERVER_PUBLIC_KEY>"
    endpoint = config.get("FLEET_WG_ENDPOINT") or "vpn.vigil.example:51820"
    return "\n".join([
        "[Interface]",
        "# PrivateKey = <the agent's own key, kept on the device>",
        f"Address = {device.overlay_ip}/32",
        "",
        "[Peer]",
        f"PublicKey = {hub_key}",
        f"Endpoint = {endpoint}",
        f"AllowedIPs = {overlay_network()}",
        "PersistentKeepalive = 25",
        "",
    ])


def create_device_key(device: Device) -> str:
    """A key bound to the device with the agent's scopes; only its SHA-256 is stored."""
    prefix = secrets.token_hex(4)
    secret = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(org_id=device.org_id, user_id=None, device_id=device.id, name=f"agent {device.hostname}"[:100],
                 key_prefix=f"{KEY_PREFIX}_{prefix}", key_hash=digest(secret), scopes=list(DEVICE_SCOPES))
    db.session.add(key)
    db.session.flush()
    return secret


def enrol(data: dict[str, Any], ip: str | None) -> Enrolment:
    """Enrol a device with its claim code and facts (raises FleetError; caller commits)."""
    clean, errors = validate_enrolment(data)
    if errors:
        raise FleetError("validation_error", "The enrolment payload is not valid.", 422, fields=errors)
    claim = find_claim_code(clean["claim_code"])
    device = claim.device
    check_enrolment_limit(device)
    org = db.session.get(Organization, device.org_id)
    print_ = fingerprint(clean["serial"], clean["mac_addresses"], clean["cpu_model"])
    if db.session.scalar(sa.select(Device.id).where(Device.hardware_fingerprint == print_, Device.id != device.id)):
        raise FleetError("duplicate_fingerprint",
                         "This hardware is already enrolled as another device; remove that device first.")
    device.hostname = clean["hostname"]
    device.hardware_fingerprint = print_
    device.wireguard_public_key = clean["wireguard_public_key"]
    device.cpu_model, device.cpu_cores = clean["cpu_model"], clean["cores"]
    device.ram_mb, device.disk_gb = clean["ram_mb"], clean["disk_gb"]
    device.os_type, device.kernel_version = clean["os"], clean["kernel"]
    device.mac_addresses, device.serial_number = clean["mac_addresses"], clean["serial"]
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:  # a concurrent enrolment of the same hardware
        raise FleetError("duplicate_fingerprint", "This hardware is already enrolled as another device.") from exc
    overlay_ip = allocate_overlay_ip(device, org.type if org else "customer")
    now = utcnow()
    claim.used_at, claim.used_ip = now, ip
    device.enrolled_at, device.status = now, "active"
    secret = create_device_key(device)
    audit.record("device.enrolled", resource_type="device", resource_id=device.id, org_id=device.org_id,
                 actor_type="agent", actor_label=f"agent {device.hostname}",
                 new={"hostname": device.hostname, "overlay_ip": overlay_ip, "fingerprint": print_})
    return Enrolment(device, secret, wireguard_config(device))

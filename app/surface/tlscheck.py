"""TLS of one HTTPS service: the certificate (expiry, self-signed, host name, key size) and
the protocol versions it accepts."""

from __future__ import annotations

import socket
import ssl
import warnings
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

from app.models import utcnow
from app.surface.httpclient import insecure_context

EXPIRY_WARNING_DAYS = 30


@dataclass
class TlsReport:
    address: str
    port: int
    hostname: str
    protocol: str | None = None
    subject: str | None = None
    issuer: str | None = None
    not_after: datetime | None = None
    days_left: int | None = None
    self_signed: bool = False
    hostname_matches: bool = True
    names: list[str] = field(default_factory=list)
    key_type: str | None = None
    key_bits: int | None = None
    legacy_protocols: list[str] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict:
        return {"host": self.hostname, "address": self.address, "port": self.port, "protocol": self.protocol,
                "subject": self.subject, "issuer": self.issuer,
                "not_after": self.not_after.isoformat() if self.not_after else None, "days_left": self.days_left,
                "self_signed": self.self_signed, "hostname_matches": self.hostname_matches, "names": self.names,
                "key_type": self.key_type, "key_bits": self.key_bits, "legacy_protocols": self.legacy_protocols,
                "error": self.error}

    def problems(self) -> list[tuple[str, str, str, str]]:
        """(finding type, severity, evidence, remediation) for what is wrong."""
        out = []
        where = f"{self.hostname}:{self.port}"
        if self.days_left is not None and self.days_left < 0:
            out.append(("tls_certificate_expired", "high", f"{where} certificate expired {self.not_after:%Y-%m-%d}",
                        "Renew the certificate (automate it, e.g. with ACME)."))
        elif self.days_left is not None and self.days_left <= EXPIRY_WARNING_DAYS:
            out.append(("tls_certificate_expiring", "medium",
                        f"{where} certificate expires {self.not_after:%Y-%m-%d} ({self.days_left} days)",
                        "Renew the certificate before it expires and automate renewal."))
        if self.self_signed:
            out.append(("tls_self_signed", "medium", f"{where} certificate is self-signed (issuer = subject: "
                        f"{self.subject})", "Use a certificate from a public CA."))
        if not self.hostname_matches:
            out.append(("tls_hostname_mismatch", "medium", f"{where} certificate names {', '.join(self.names)[:300]}",
                        "Serve a certificate whose names include this host."))
        if self.key_type == "RSA" and (self.key_bits or 0) < 2048:
            out.append(("tls_weak_key", "medium", f"{where} RSA key of {self.key_bits} bits",
                        "Use an RSA key of at least 2048 bits or an ECDSA P-256 key."))
        if self.legacy_protocols:  # one finding per service, naming every legacy version it accepts
            out.append(("tls_legacy_protocol", "medium", f"{where} accepts {' and '.join(self.legacy_protocols)}",
                        "Disable TLS 1.0 and 1.1; allow TLS 1.2 and 1.3 only."))
        return out


def name_matches(hostname: str, names: list[str]) -> bool:
    for name in names:
        if name == hostname:
            return True
        if name.startswith("*.") and hostname.count(".") == name.count(".") and hostname.endswith(name[1:]):
            return True
    return False


def describe_key(cert: x509.Certificate) -> tuple[str, int | None]:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    return type(key).__name__, None


def check(address: str, port: int, hostname: str, timeout: float = 3.0) -> TlsReport:
    report = TlsReport(address, port, hostname)
    try:
        with socket.create_connection((address, port), timeout=timeout) as raw, \
                insecure_context().wrap_socket(raw, server_hostname=hostname) as tls:
            report.protocol = tls.version()
            der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError) as exc:
        report.error = f"{type(exc).__name__}: {exc}"[:300]
        return report
    cert = x509.load_der_x509_certificate(der)
    report.subject = cert.subject.rfc4514_string()
    report.issuer = cert.issuer.rfc4514_string()
    report.not_after = cert.not_valid_after_utc
    report.days_left = (report.not_after - utcnow()).days
    report.self_signed = cert.issuer == cert.subject
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        report.names = [n.lower() for n in san.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        report.names = [a.value.lower() for a in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
                        if isinstance(a.value, str)]
    report.hostname_matches = name_matches(hostname.lower(), report.names)
    report.key_type, report.key_bits = describe_key(cert)
    report.legacy_protocols = legacy_accepted(address, port, hostname, timeout)
    return report


def legacy_accepted(address: str, port: int, hostname: str, timeout: float) -> list[str]:
    """TLS 1.0 / 1.1 offered alone: accepted means the server still speaks them."""
    accepted = []
    for label, version in (("TLS 1.0", ssl.TLSVersion.TLSv1), ("TLS 1.1", ssl.TLSVersion.TLSv1_1)):
        context = insecure_context()
        try:
            with warnings.catch_warnings():
                # Python deprecates offering these versions; offering them is the test.
                warnings.simplefilter("ignore", DeprecationWarning)
                context.set_ciphers("ALL:@SECLEVEL=0")
                context.minimum_version = version
                context.maximum_version = version
        except (ValueError, ssl.SSLError):
            continue  # this OpenSSL cannot offer the version at all: nothing to learn
        try:
            with socket.create_connection((address, port), timeout=timeout) as raw, \
                    context.wrap_socket(raw, server_hostname=hostname):
                accepted.append(label)
        except (OSError, ssl.SSLError):
            pass
    return accepted

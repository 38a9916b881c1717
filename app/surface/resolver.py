"""DNS for the attack-surface domain: one small interface over dnspython.

Every lookup a scan or a verification makes goes through `Resolver`, which asks the
servers in VIGIL_DNS_SERVERS (or the system's), with a timeout, so tests point it at the
lab's DNS server on loopback and nothing else is ever asked.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import dns.exception
import dns.nameserver
import dns.query
import dns.rdatatype
import dns.resolver
import dns.zone

from app.outbound import is_private
from app.surface.settings import dns_servers, setting

RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "TXT", "CAA")


class TargetRefused(Exception):
    """A target resolves to a private, loopback or reserved address (and that is not allowed)."""


@dataclass
class Lookup:
    """The answer to one question: values as text, and whether the name exists at all."""

    values: list[str]
    nxdomain: bool = False
    error: str | None = None


class Resolver:
    """Lookups through the configured resolvers; never raises for DNS failures."""

    def __init__(self, servers: list[tuple[str, int]] | None = None, timeout: float = 3.0) -> None:
        self.servers = dns_servers() if servers is None else servers
        self.timeout = timeout
        if self.servers:
            self._resolver = dns.resolver.Resolver(configure=False)
            self._resolver.nameservers = [dns.nameserver.Do53Nameserver(h, p) for h, p in self.servers]
        else:
            self._resolver = dns.resolver.Resolver()
        self._resolver.lifetime = timeout
        self._resolver.timeout = timeout
        self._resolver.cache = None  # a scan must see the zone as it is now

    def lookup(self, name: str, rdtype: str) -> Lookup:
        try:
            answer = self._resolver.resolve(name, rdtype, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return Lookup([], nxdomain=True)
        except (dns.exception.DNSException, OSError) as exc:
            return Lookup([], error=type(exc).__name__)
        if answer.rrset is None:
            return Lookup([])
        return Lookup([rdata_text(r) for r in answer.rrset])

    def addresses(self, name: str) -> list[str]:
        """A and AAAA of `name` (following CNAMEs)."""
        return self.lookup(name, "A").values + self.lookup(name, "AAAA").values

    def cname(self, name: str) -> str | None:
        """The CNAME target of `name` itself (asked without following it)."""
        values = self.lookup(name, "CNAME").values
        return values[0] if values else None

    def axfr(self, zone: str, nameserver: str) -> list[str] | None:
        """The zone's names if `nameserver` allows a transfer to us, None if refused."""
        host, port = self._server_for(nameserver)
        try:
            transferred = dns.zone.from_xfr(dns.query.xfr(host, zone, port=port, timeout=self.timeout,
                                                          lifetime=self.timeout * 2))
        except (dns.exception.DNSException, OSError, EOFError, ConnectionError, ValueError):
            return None
        origin = transferred.origin
        return sorted({n.derelativize(origin).to_text(omit_final_dot=True) for n in transferred.nodes})

    def _server_for(self, nameserver: str) -> tuple[str, int]:
        # With configured resolvers (a lab, a split-horizon setup) the transfer is asked of
        # the NS's address on the configured port; otherwise of the NS's address on 53.
        addresses = self.lookup(nameserver, "A").values
        port = self.servers[0][1] if self.servers else 53
        return (addresses[0] if addresses else nameserver), port


def rdata_text(rdata) -> str:
    if rdata.rdtype == dns.rdatatype.TXT:
        return b"".join(rdata.strings).decode("utf-8", "replace")
    text = rdata.to_text()
    return text[:-1] if text.endswith(".") else text


def private_allowed() -> bool:
    return bool(setting("SURFACE_SCAN_PRIVATE_TARGETS"))


def is_reserved(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return is_private(ip) or ip.is_reserved or ip.is_loopback or ip.is_link_local or ip.is_multicast


def probe_addresses(addresses: list[str]) -> list[str]:
    """The addresses a probe may contact; private ones only with VIGIL_SCAN_PRIVATE_TARGETS=1."""
    if private_allowed():
        return list(addresses)
    return [a for a in addresses if not is_reserved(a)]


def check_target(host: str, addresses: list[str]) -> list[str]:
    """`addresses` if probing `host` is allowed, else TargetRefused naming the address."""
    if not addresses:
        raise TargetRefused(f"{host} does not resolve")
    allowed = probe_addresses(addresses)
    refused = [a for a in addresses if a not in allowed]
    if refused:
        raise TargetRefused(f"{host} resolves to {refused[0]}, a private, loopback or reserved address")
    return allowed

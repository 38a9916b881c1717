"""Where Vigil's own outgoing requests (webhooks, later scanners and providers) may go.

Private, loopback, link-local and reserved addresses are refused unless an operator
allows a network with VIGIL_OUTBOUND_ALLOW (comma-separated CIDRs; tests allow
127.0.0.0/8), so a webhook URL cannot be pointed at the internal network.
"""

from __future__ import annotations

import ipaddress
import socket

from flask import current_app

# RFC 1918, loopback, link-local, CGNAT, unique-local, multicast, reserved, unspecified.
PRIVATE_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4", "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8",
))


class OutboundRefused(Exception):
    """The destination resolves to an address Vigil may not contact."""


def is_private(address: ipaddress.IPv4Address | ipaddress.IPv6Address | ipaddress.IPv4Network
               | ipaddress.IPv6Network) -> bool:
    network = ipaddress.ip_network(address)
    if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped:
        network = ipaddress.ip_network(network.network_address.ipv4_mapped)
    return any(network.version == p.version and network.subnet_of(p) for p in PRIVATE_NETWORKS)


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    raw = current_app.config.get("OUTBOUND_ALLOW") or ""
    return [ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip()]


def check_host(host: str, port: int) -> None:
    """Refuse a host whose addresses include a private one that is not explicitly allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OutboundRefused(f"cannot resolve {host}: {exc}") from exc
    allowed = allowed_networks()
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if is_private(address) and not any(address.version == n.version and address in n for n in allowed):
            raise OutboundRefused(f"{host} resolves to {address}, a private or reserved address")

"""How indicator values are stored and compared: shared by the threats domain, which
stores indicators (app/threats/intel.py), and the matcher (app/indicators/matching.py)."""

from __future__ import annotations

import ipaddress

HASH_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64}


def address_hex(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """32 hex digits; IPv4 is mapped into IPv6 (::ffff:a.b.c.d) so ranges compare as text."""
    if isinstance(address, ipaddress.IPv4Address):
        address = ipaddress.IPv6Address("::ffff:" + str(address))
    return f"{int(address):032x}"


def covering_starts(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[str]:
    """The network address (as range hex) of every network that can contain `address`:
    one per prefix length. A covering indicator must start at one of them, which turns
    "which range contains this address" into indexed equality lookups."""
    bits = address.max_prefixlen
    return sorted({address_hex(ipaddress.ip_network(f"{address}/{p}", strict=False).network_address)
                   for p in range(bits + 1)})

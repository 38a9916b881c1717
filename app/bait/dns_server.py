"""`vigil bait dns-server`: a small authoritative DNS server for the bait zone (dnslib).

Any query for a name under the zone that carries a live DNS token's identifier (the token's
hostname, or a longer name ending in it, as `ping`, `nslookup` or a resolver send) is a hit:
logged as an access of type "dns" and answered with an A record, as a real zone would.
Other names in the zone are NXDOMAIN and counted as probes; names outside it are REFUSED.
The querying address is usually the intruder's resolver, so it never becomes an indicator.
"""

from __future__ import annotations

from typing import Any

from dnslib import QTYPE, RCODE, RR, A
from dnslib.server import DNSLogger, DNSServer
from flask import Flask

from app.bait import kinds, services
from app.models import db

TTL = 60


class BaitResolver:
    """dnslib resolver: answers for the zone and records hits inside an app context."""

    def __init__(self, app: Flask, zone: str, answer: str) -> None:
        self.app, self.zone, self.answer = app, zone.strip(".").lower(), answer

    def resolve(self, request: Any, handler: Any) -> Any:
        reply = request.reply()
        qname = str(request.q.qname).rstrip(".").lower()
        if qname != self.zone and not qname.endswith("." + self.zone):
            reply.header.rcode = RCODE.REFUSED
            return reply
        reply.header.aa = 1
        with self.app.app_context():
            try:
                known = self.record(qname, QTYPE[request.q.qtype], handler.client_address[0])
            except Exception:  # answer like the zone anyway; the log keeps it
                db.session.rollback()
                self.app.logger.exception("bait: recording a DNS hit failed")
                known = False
            if not known:
                reply.header.rcode = RCODE.NXDOMAIN
                return reply
        if request.q.qtype in (QTYPE.A, QTYPE.ANY):
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(self.answer), ttl=TTL))
        return reply

    def record(self, qname: str, qtype: str, source_ip: str) -> bool:
        """Log a hit on the DNS token the name carries; False (a probe) when there is none."""
        prefix = qname[: -len(self.zone)].rstrip(".")
        token = services.live_token(identifier=kinds.find_identifier(prefix))
        if token is None or token.bait_type != "dns":
            services.count_probe()
            db.session.commit()
            return False
        services.record_hit(token, services.Hit(source_ip, "dns", None, {"qname": qname, "qtype": qtype},
                                                notes=f"{qtype} {qname}"))
        db.session.commit()
        return True


def start(app: Flask, host: str, port: int, zone: str, answer: str = "127.0.0.1") -> DNSServer:
    """Serve the zone over UDP on host:port in a background thread; returns the server (stop())."""
    server = DNSServer(BaitResolver(app, zone, answer), address=host, port=port,
                       logger=DNSLogger("-recv,-send,-request,-reply,-truncated,-data"))
    server.start_thread()
    return server


def stop(server: DNSServer) -> None:
    server.stop()
    server.server.server_close()  # dnslib's stop() leaves the socket open

"""The one way the project sends an HTTP request to a user-supplied URL (SSRF-guarded).

    outbound_url_check(url)            # syntax + DNS + address policy; raises OutboundBlocked
    outbound_request(method=..., url=..., headers=..., body=..., timeout=..., max_body=...)
        -> OutboundResponse            # raises OutboundBlocked (refused target) or OutboundError (transport)

http/https only; the host is resolved once and every address it resolves to is checked against the
blocked networks (loopback, private, CGNAT, link-local and metadata, multicast, unspecified, reserved,
unique-local, and IPv4 embedded in IPv6 by mapping, 6to4, Teredo and NAT64); the connection goes to the
checked address (no second lookup), with the original Host header and TLS SNI/certificate verification
against the host name; redirects are returned, never followed; timeouts and the response size are capped.
"""

from .addresses import address_blocked_reason
from .client import OutboundResponse, outbound_request, outbound_url_check
from .errors import OutboundBlocked, OutboundError

__all__ = [
    "OutboundBlocked",
    "OutboundError",
    "OutboundResponse",
    "address_blocked_reason",
    "outbound_request",
    "outbound_url_check",
]

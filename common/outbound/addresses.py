"""URL target parsing and the address policy of the outbound client (pure functions, no I/O)."""

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from .errors import OutboundBlocked

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_CHARS = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# Checked explicitly, so the policy does not depend on which Python patch release's `is_private`
# tables are installed. Order matters only for the reason reported.
BLOCKED_V4: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("0.0.0.0/8"), "unspecified"),
    (_V4("10.0.0.0/8"), "private"),
    (_V4("100.64.0.0/10"), "private"),  # CGNAT, RFC 6598
    (_V4("127.0.0.0/8"), "loopback"),
    (_V4("169.254.0.0/16"), "link_local"),  # incl. 169.254.169.254 cloud metadata
    (_V4("172.16.0.0/12"), "private"),
    (_V4("192.0.0.0/24"), "reserved"),  # IETF protocol assignments (incl. 192.0.0.192 Oracle metadata)
    (_V4("192.0.2.0/24"), "reserved"),
    (_V4("192.88.99.0/24"), "reserved"),  # 6to4 relay anycast
    (_V4("192.168.0.0/16"), "private"),
    (_V4("198.18.0.0/15"), "reserved"),
    (_V4("198.51.100.0/24"), "reserved"),
    (_V4("203.0.113.0/24"), "reserved"),
    (_V4("224.0.0.0/4"), "multicast"),
    (_V4("240.0.0.0/4"), "reserved"),  # incl. 255.255.255.255
)
BLOCKED_V6: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("::/128"), "unspecified"),
    (_V6("::1/128"), "loopback"),
    (_V6("::/96"), "reserved"),  # IPv4-compatible (deprecated); the embedded v4 is also checked
    (_V6("64:ff9b:1::/48"), "reserved"),  # local-use NAT64, RFC 8215
    (_V6("100::/64"), "reserved"),  # discard-only
    (_V6("2001:db8::/32"), "reserved"),  # documentation
    (_V6("2001:10::/28"), "reserved"),  # ORCHID
    (_V6("2001:20::/28"), "reserved"),
    (_V6("3fff::/20"), "reserved"),  # documentation, RFC 9637
    (_V6("5f00::/16"), "reserved"),  # SRv6 SIDs
    (_V6("fc00::/7"), "private"),  # unique local (incl. fd00:ec2::254 AWS metadata)
    (_V6("fe80::/10"), "link_local"),
    (_V6("fec0::/10"), "link_local"),  # deprecated site-local
    (_V6("ff00::/8"), "multicast"),
)
# Never reachable, even through OUTBOUND_ALLOWED_PRIVATE_HOSTS: cloud metadata services and "any".
ALWAYS_BLOCKED: frozenset[IPAddress] = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
        ipaddress.ip_address("100.100.100.200"),  # Alibaba
        ipaddress.ip_address("192.0.0.192"),  # Oracle
        ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
        ipaddress.ip_address("0.0.0.0"),  # noqa: S104 - refused, not bound
        ipaddress.ip_address("::"),
    }
)
_NAT64 = _V6("64:ff9b::/96")
_6TO4 = _V6("2002::/16")
_TEREDO = _V6("2001::/32")


def _embedded_v4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, 6to4, Teredo, NAT64)."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) >> 32 == 0:  # ::a.b.c.d
        found.append(low32)
    if ip in _NAT64:
        found.append(low32)
    if ip in _6TO4:
        found.append(ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF))
    if ip in _TEREDO:
        server, client = ip.teredo or (None, None)
        found += [a for a in (server, client) if a is not None]
    return found


def address_blocked_reason(ip: IPAddress) -> str | None:
    """Why `ip` is not a public unicast address (e.g. "loopback"), or None when it may be contacted."""
    if isinstance(ip, ipaddress.IPv4Address):
        for net4, reason in BLOCKED_V4:
            if ip in net4:
                return reason
        return None
    for net6, reason in BLOCKED_V6:
        if ip in net6:
            return reason
    for inner in _embedded_v4(ip):
        reason_v4 = address_blocked_reason(inner)
        if reason_v4:
            return f"embedded_{reason_v4}"
    if ip in _TEREDO:
        return "reserved"  # tunnels to any host; nothing legitimate is a webhook receiver there
    return None


@lru_cache(maxsize=8)
def parse_allowed_private(entries: tuple[str, ...]) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    """OUTBOUND_ALLOWED_PRIVATE_HOSTS -> (host names, networks). A bad entry raises ValueError."""
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for raw in entries:
        entry = raw.strip().lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            if not _HOST_LABELS.fullmatch(entry.rstrip(".")):
                raise ValueError(f"not a host name, IP address or network: {raw!r}") from None
            names.add(entry.rstrip("."))
    return frozenset(names), tuple(networks)


def address_allowed(host: str, ip: IPAddress, allowed_private: tuple[str, ...]) -> bool:
    """The address policy, with the development allow-list; raises nothing."""
    if ip in ALWAYS_BLOCKED:
        return False
    if address_blocked_reason(ip) is None:
        return True
    names, networks = parse_allowed_private(allowed_private)
    return host in names or any(ip in net for net in networks)


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # ASCII host name (IDNA) or the canonical IP text
    ip: IPAddress | None  # set when the URL names an address
    port: int
    target: str  # path + query sent on the request line

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if isinstance(self.ip, ipaddress.IPv6Address) else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


_FORBIDDEN_CHARS = re.compile(r"[\x00-\x20\x7f\\]")
_HOST_LABELS = re.compile(
    r"(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*"
)
_NUMERIC_PART = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")


def _invalid(detail: str) -> OutboundBlocked:
    return OutboundBlocked("url_invalid", detail)


def _parse_ipv4_number(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part[0] == "0":
        if not part.isdigit() or any(c in "89" for c in part):
            raise _invalid("The host is not a valid IPv4 address.")
        return int(part, 8)
    return int(part)


def _parse_numeric_host(host: str) -> ipaddress.IPv4Address | None:
    """WHATWG's IPv4 parser: 127.1, 0x7f000001, 2130706433, 0177.0.0.1 all mean 127.0.0.1.

    Returns None when the host is a name (its last label is not a number).
    """
    parts = host.split(".")
    if not _NUMERIC_PART.fullmatch(parts[-1]):
        return None
    if len(parts) > 4 or not all(_NUMERIC_PART.fullmatch(p) for p in parts):
        raise _invalid("The host is not a valid IPv4 address.")
    numbers = [_parse_ipv4_number(p) for p in parts]
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise _invalid("The host is not a valid IPv4 address.")
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def parse_target(url: str) -> Target:
    """Parse and normalise an outbound URL; raises OutboundBlocked for anything not plainly http(s)."""
    if not isinstance(url, str) or not url:
        raise _invalid("The URL is empty.")
    if len(url) > MAX_URL_CHARS:
        raise _invalid(f"The URL is longer than {MAX_URL_CHARS} characters.")
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in DEFAULT_PORTS:
        raise OutboundBlocked("url_scheme_not_allowed", "Only http and https URLs are allowed.")
    if _FORBIDDEN_CHARS.search(url):
        raise _invalid("The URL contains whitespace, control characters or a backslash.")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise _invalid(f"The URL cannot be parsed: {exc}.") from None
    if not url[len(scheme) + 1 :].startswith("//"):
        raise _invalid("The URL has no host.")
    netloc = parts.netloc
    if "@" in netloc:
        raise _invalid("Credentials in the URL (user@host) are not allowed; send an Authorization header.")
    ip: IPAddress | None = None
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise _invalid("The IPv6 address is not closed with ].")
        literal, rest = netloc[1:end], netloc[end + 1 :]
        if "%" in literal:
            raise _invalid("IPv6 zone identifiers are not allowed.")
        try:
            ip = ipaddress.IPv6Address(literal)
        except ValueError:
            raise _invalid("The host is not a valid IPv6 address.") from None
        host = str(ip)
        if rest and not rest.startswith(":"):
            raise _invalid("Unexpected characters after the IPv6 address.")
        port_text = rest[1:] if rest else ""
    else:
        host, _, port_text = netloc.partition(":")
        host = host.lower()
        if not host:
            raise _invalid("The URL has no host.")
        if "%" in host or ":" in port_text:
            raise _invalid("The host contains characters that are not allowed.")
        if host.endswith("."):
            host = host[:-1]
        ip = _parse_numeric_host(host)
        if ip is not None:
            host = str(ip)
        else:
            try:
                host = host.encode("idna").decode("ascii").lower()
            except UnicodeError:
                raise _invalid("The host name is not a valid (internationalised) domain name.") from None
            ip = _parse_numeric_host(host)  # IDNA maps fullwidth digits and dots: "１２７。０。０。１"
            if ip is not None:
                host = str(ip)
            elif not _HOST_LABELS.fullmatch(host):
                raise _invalid("The host name is not a valid domain name.")
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise _invalid("The port must be a number from 1 to 65535.")
        port = int(port_text)
    else:
        port = DEFAULT_PORTS[scheme]
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return Target(scheme=scheme, host=host, ip=ip, port=port, target=target)

"""The rules for every URL docqueue itself calls: a webhook's `callback_url`, a task's `source_url`.

Both are URLs a client chose and a worker inside the cluster requests, so both follow one set of
SSRF rules: https only (unless allowed), no credentials, the host on the allow-list when there is
one, and every address the host resolves to public (not private, loopback, link-local, shared or
multicast) unless a network is allowed by name. The API checks a URL when it is submitted; the
worker checks it again and resolves the host anew before each request (and after each redirect),
then connects to the address it checked, so a name that resolved to a public address at upload and
to 127.0.0.1 later (DNS rebinding) is refused.
"""

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_CHARS = 2048

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]


class UrlRefused(ValueError):
    """docqueue will not call this URL; `reason` is a stable machine code (`invalid_url`,
    `scheme_not_allowed`, `host_not_allowed`, `address_not_allowed`, `unresolvable_host`)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class EgressPolicy:
    """Which URLs of one kind (`what`: "callback", "source") are allowed. The defaults are the
    safe ones."""

    what: str = "callback"
    allowed_hosts: tuple[str, ...] = ()
    allow_http: bool = False
    # Any address, private ones included (development and tests only).
    allow_private: bool = False
    # Non-public networks that may be reached all the same (an intranet document server).
    allowed_networks: tuple[IPNetwork, ...] = ()


@dataclass(frozen=True)
class Target:
    """A checked URL, split into what a pinned connection needs."""

    url: str
    scheme: str
    host: str  # lower-case ASCII (IDNA), without brackets
    port: int
    literal_ip: IPAddress | None

    @property
    def host_header(self) -> str:
        default_port = self.port == (443 if self.scheme == "https" else 80)
        return self.host if default_port else f"{self.host}:{self.port}"

    def pinned_url(self, address: IPAddress) -> str:
        """The URL with its host replaced by `address` (the Host header and TLS name stay ours)."""
        parts = urlsplit(self.url)
        host = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)
        url = f"{self.scheme}://{host}:{self.port}{parts.path or '/'}"
        return f"{url}?{parts.query}" if parts.query else url


def check_url(url: str, policy: EgressPolicy) -> Target:
    """Syntax, scheme and allow-list; a literal IP address is checked here too."""
    what = policy.what
    if not url or len(url) > MAX_URL_CHARS or not url.isprintable() or " " in url:
        raise UrlRefused("invalid_url", f"the {what} URL must be 1-{MAX_URL_CHARS} printable characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused("invalid_url", f"the {what} URL is not valid: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and policy.allow_http):
        raise UrlRefused("scheme_not_allowed", f"the {what} URL must use https")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("invalid_url", f"the {what} URL must not carry credentials")
    host = _ascii_host(parts.hostname or "", what)
    if policy.allowed_hosts and not host_allowed(host, policy.allowed_hosts):
        raise UrlRefused("host_not_allowed", f"{what} URLs on {host} are not allowed here")
    literal = _literal_ip(host)
    if literal is not None:
        check_address(literal, policy)
    return Target(url, scheme, host, port or (443 if scheme == "https" else 80), literal)


def host_allowed(host: str, patterns: tuple[str, ...]) -> bool:
    """Exact names, or `*.example.com` for any subdomain of example.com (not example.com itself)."""
    for pattern in patterns:
        if pattern.startswith("*.") and host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
            return True
        if host == pattern:
            return True
    return False


def check_address(address: IPAddress, policy: EgressPolicy) -> None:
    """Refuse anything but a public unicast address, unless private targets (or this network)
    are allowed."""
    if policy.allow_private:
        return
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if any(address in network for network in policy.allowed_networks):
        return
    # is_global is False for private, loopback, link-local, shared (100.64/10), reserved and
    # documentation ranges; multicast needs its own check.
    if not address.is_global or address.is_multicast:
        raise UrlRefused(
            "address_not_allowed", f"{policy.what} URLs reaching {address} (not a public address) are refused"
        )


def resolve_target(target: Target, policy: EgressPolicy, resolver: Resolver | None = None) -> list[IPAddress]:
    """The addresses to connect to, every one checked. `socket.gaierror` (OSError) if the name does
    not resolve: the caller decides whether that is final (upload) or worth a retry (delivery)."""
    if target.literal_ip is not None:
        return [target.literal_ip]
    found = [ipaddress.ip_address(raw) for raw in (resolver or system_resolver)(target.host, target.port)]
    if not found:
        raise UrlRefused("unresolvable_host", f"{target.host} has no address")
    for address in found:
        check_address(address, policy)
    return found


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # Drop an IPv6 zone ("fe80::1%eth0"); keep the order, without repeats.
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


def parse_networks(raw: str) -> tuple[IPNetwork, ...]:
    """`10.0.0.0/8, 192.168.1.7` as networks (a bare address is a /32 or /128); ValueError names
    the first one that is not."""
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in raw.split(",") if item.strip())


def parse_hosts(raw: str) -> tuple[str, ...]:
    return tuple(host.strip().lower() for host in raw.split(",") if host.strip())


def _ascii_host(hostname: str, what: str) -> str:
    host = hostname.rstrip(".").lower()
    if not host:
        raise UrlRefused("invalid_url", f"the {what} URL has no host")
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise UrlRefused("invalid_url", f"the {what} host is not a valid name") from exc


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None

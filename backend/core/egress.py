"""The egress policy: which URLs a worker may call on a user's behalf (teachers, judges, probes,
synthesis).

Any account can create a project and point a teacher's base_url anywhere; the worker sits beside
Redis, PostgreSQL and internal HTTP services, so without a policy a teacher is a way in to them
(server-side request forgery). The policy:

- only http and https; no userinfo (``user@host`` hides the real host from a reader) and no fragment
  (``#`` lets a base_url discard the path the client appends and pick any path);
- when strict (production by default), loopback, link-local, private (RFC 1918, ULA), shared (CGNAT
  100.64/10), unspecified, multicast, reserved and any other non-global address is refused unless
  DISTILLERY_EGRESS_ALLOW names the host or a network holding the address (compose's ``vllm``);
- checked on the resolved addresses, each time a connection is opened (``PolicyResolver``: aiohttp
  then connects to exactly the addresses that were checked, so DNS rebinding cannot swap them), and
  literal IP hosts (which aiohttp never resolves) before each request;
- redirects are never followed by the clients (a 303 would turn the POST into a GET of any URL).

The API applies the same check when a teacher is saved (literal IPs and hosts that resolve now); the
worker's check is the authority, since DNS can change after that.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
ALLOW_SETTING = "DISTILLERY_EGRESS_ALLOW"
# Precedes a provider's own error text in stored errors; the API shows what follows it to maintainers
# only (backend/api/provider_text.py).
PROVIDER_SAYS = " | provider said: "


class EgressRefused(Exception):
    """The policy refused a URL or an address. The message is ours alone (nothing was fetched), so it
    is safe to store and show."""


def blocked_reason(ip: IPAddress) -> str | None:
    """Why a strict policy refuses this address, or None for a global unicast one."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 reaches 127.0.0.1
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"  # 169.254.169.254: the cloud metadata service
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "shared (CGNAT)"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "non-global"
    return None


def _parse_allow(value: str) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    hosts: set[str] = set()
    networks: list[IPNetwork] = []
    for item in (p.strip() for p in value.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            hosts.add(item.lower().rstrip("."))
    return frozenset(hosts), tuple(networks)


@dataclass(frozen=True)
class EgressPolicy:
    strict: bool
    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def build(cls, strict: bool, allow: str = "") -> EgressPolicy:
        hosts, networks = _parse_allow(allow)
        return cls(strict, hosts, networks)

    @classmethod
    def current(cls) -> EgressPolicy:
        """The policy the settings describe (read each time: tests and the CLI change settings)."""
        from backend.core.config import get_settings

        return cls.from_settings(get_settings())

    @classmethod
    def from_settings(cls, s: Any) -> EgressPolicy:
        # strict by default in production; development and test serve teachers on 127.0.0.1
        strict = s.egress_strict if s.egress_strict is not None else s.environment == "production"
        return cls.build(strict, s.egress_allow)

    def check_url(self, url: str) -> SplitResult:
        """The URL's parts, or EgressRefused for a scheme, userinfo or fragment the policy refuses, or a
        literal IP host it refuses. A hostname's addresses are checked at connect time."""
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise EgressRefused(f"not a valid URL: {exc}") from None
        if parts.scheme not in ("http", "https"):
            raise EgressRefused("only http:// and https:// URLs are allowed")
        if "#" in url:
            raise EgressRefused("a URL with a fragment ('#') is refused: it would replace the API path")
        if "@" in parts.netloc:
            raise EgressRefused("a URL with credentials before the host ('user@') is refused")
        if not parts.hostname:
            raise EgressRefused("the URL has no host")
        try:
            ip = ipaddress.ip_address(parts.hostname)
        except ValueError:
            try:  # 2130706433, 0x7f.1, 127.1: IPv4 in the forms inet_aton (and so the resolver) accepts
                ip = ipaddress.IPv4Address(socket.inet_aton(parts.hostname))
            except OSError:
                return parts  # a name: its addresses are checked when it is resolved
        self.check_ip(parts.hostname, ip)
        return parts

    def check_ip(self, host: str, address: str | IPAddress) -> None:
        if not self.strict:
            return
        ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
        if host.lower().rstrip(".") in self.hosts or any(ip in net for net in self.networks):
            return
        reason = blocked_reason(ip)
        if reason is not None:
            shown = host if host == str(ip) else f"{host} ({ip})"
            raise EgressRefused(
                f"the egress policy refused {shown}: a {reason} address; an administrator can allow it "
                f"in {ALLOW_SETTING}"
            )

    def check_host_now(self, url: str) -> None:
        """check_url, plus the addresses a hostname resolves to now (the API's check). A name that
        does not resolve passes: the worker checks again when it connects."""
        parts = self.check_url(url)
        if not self.strict:
            return
        host = parts.hostname or ""
        try:
            ipaddress.ip_address(host)
            return  # checked by check_url
        except ValueError:
            pass
        try:
            infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return
        for info in infos:
            self.check_ip(host, str(info[4][0]))

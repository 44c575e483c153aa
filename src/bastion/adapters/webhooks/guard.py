"""SSRF protection: webhooks go to the public internet, never into Bastion's own network.

A webhook URL is chosen by whoever may configure webhooks; without a guard it
could point Bastion at its database, an admin port on localhost, or the cloud
metadata service (169.254.169.254) that hands out credentials. So:

- :func:`check_url` checks the URL's shape (http/https, a host, no user
  info) and a literal IP host;
- :func:`resolve_safe` resolves the host and refuses it when ANY address is
  not public. The caller then connects to an address it returned, so a DNS
  answer that changes between the check and the connection (DNS rebinding)
  cannot slip through.

An :class:`OutboundPolicy` opens exceptions: ``allowed_networks`` lets chosen
networks through (it wins over every rule), ``allow_private`` lets private,
loopback, CGNAT and other non-public unicast addresses through. Link-local
addresses (the metadata service among them), multicast and unspecified ones
stay refused unless ``allowed_networks`` names them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

__all__ = [
    "IPAddress",
    "IPNetwork",
    "OutboundPolicy",
    "UnsafeWebhookUrl",
    "check_url",
    "refusal_reason",
    "resolve_safe",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_METADATA = frozenset(
    {ipaddress.IPv4Address("169.254.169.254"), ipaddress.IPv6Address("fd00:ec2::254")}
)
_SCHEMES = ("http", "https")


class UnsafeWebhookUrl(ValueError):
    """A webhook URL is malformed or leads to an address Bastion does not send to."""


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """Which non-public addresses webhooks may still go to (none by default)."""

    allow_private: bool = False
    """Allow private, loopback, CGNAT and other non-public unicast addresses
    (``BASTION_WEBHOOK_ALLOW_PRIVATE``): for development and closed networks."""
    allowed_networks: tuple[IPNetwork, ...] = ()
    """Networks allowed whatever they are (``BASTION_WEBHOOK_ALLOWED_NETWORKS``)."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    # Addresses that carry an IPv4 address end up at that address: judge that one.
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _category(address: IPAddress) -> tuple[str, bool] | None:
    """What is not public about ``address`` and whether ``allow_private`` lifts it."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = _category(embedded)
            return None if inner is None else (f"{inner[0]} (inside an IPv6 address)", inner[1])
    if address.is_unspecified:
        return "an unspecified address", False
    if address.is_multicast:
        return "a multicast address", False
    if address in _METADATA:
        return "the cloud metadata service", False
    if address.is_link_local:
        return "a link-local address", False
    if address.is_loopback:
        return "a loopback address", True
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "a shared (CGNAT) address", True
    if address.is_private:
        return "a private address", True
    if address.is_reserved or not address.is_global:
        return "a reserved, non-public address", True
    return None


def refusal_reason(address: IPAddress, policy: OutboundPolicy) -> str | None:
    """Why ``policy`` refuses ``address`` (``"a loopback address"``); ``None`` if allowed."""
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        candidates = [ipaddress.IPv6Address(address.compressed.split("%", 1)[0])]
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            candidates.append(embedded)
    if any(a in net for a in candidates for net in policy.allowed_networks):
        return None
    category = _category(candidates[0])
    if category is None:
        return None
    reason, lifted_by_allow_private = category
    if lifted_by_allow_private and policy.allow_private:
        return None
    return reason


def _refuse(host: str, address: IPAddress, reason: str, policy: OutboundPolicy) -> UnsafeWebhookUrl:
    network = ipaddress.ip_network(address.compressed.split("%", 1)[0])
    how = f'BASTION_WEBHOOK_ALLOWED_NETWORKS=["{network}"] to allow just that network'
    _, lifted = _category(address) or ("", False)
    if lifted and not policy.allow_private:
        how += " (or BASTION_WEBHOOK_ALLOW_PRIVATE=true to allow every private address)"
    what = f"is {reason}" if host == str(address) else f"resolves to {address}, {reason}"
    return UnsafeWebhookUrl(
        f"webhook host {host} {what}: Bastion does not send webhooks into internal "
        f"networks. If this endpoint is meant to be reachable, set {how}."
    )


def check_url(url: str, policy: OutboundPolicy) -> httpx.URL:
    """Check a webhook URL's shape and, if its host is an IP, that address.

    Returns the parsed URL, parsed by httpx as the sender will parse it (two
    parsers that disagree on a URL's host are a classic SSRF bypass).

    Raises:
        UnsafeWebhookUrl: Not http/https, no host, user info in it, or a
            literal IP that ``policy`` refuses. The message says how to fix it.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UnsafeWebhookUrl(f"the webhook URL is not a valid URL ({exc})") from None
    if parsed.scheme not in _SCHEMES:
        shown = parsed.scheme or "none"
        raise UnsafeWebhookUrl(
            f"a webhook URL must start with https:// (or http://), not scheme {shown!r}"
        )
    if not parsed.host:
        raise UnsafeWebhookUrl("the webhook URL has no host: write it as https://host/path")
    if parsed.userinfo:
        raise UnsafeWebhookUrl(
            "the webhook URL must not contain a user name or password (user@host): "
            "receivers authenticate deliveries by their signature"
        )
    literal = _literal_ip(parsed.host)
    if literal is not None:
        reason = refusal_reason(literal, policy)
        if reason is not None:
            raise _refuse(parsed.host, literal, reason, policy)
    return parsed


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def resolve_safe(host: str, port: int, policy: OutboundPolicy) -> list[str]:
    """Resolve ``host`` and return its addresses, if ``policy`` allows every one of them.

    Connect to one of the returned addresses (not to ``host`` again): that
    pins the connection to what was checked.

    Raises:
        UnsafeWebhookUrl: Some address is refused; the message says how to allow it.
        OSError: The name does not resolve (``socket.gaierror``).
    """
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses: list[str] = []
    for *_, sockaddr in infos:
        text = str(sockaddr[0])
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, f"{host} has no address")
    for text in addresses:
        address = ipaddress.ip_address(text)
        reason = refusal_reason(address, policy)
        if reason is not None:
            raise _refuse(host, address, reason, policy)
    return addresses

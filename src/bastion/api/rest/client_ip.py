"""The client's IP address, behind trusted reverse proxies only.

``X-Forwarded-For`` is written by whoever sent the request, so it is only
believed when the peer is one of the operator's proxies; each proxy appends
the address it received the request from, so the list is read from the right
and the first address that is not itself a trusted proxy is the client. With
no trusted proxies configured the header is ignored: a client cannot choose
its IP, and so cannot dodge a per-IP login throttle.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

from starlette.types import Scope

__all__ = ["ProxyNetwork", "client_ip", "parse_trusted_proxies"]

ProxyNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
"""A network of trusted reverse proxies (a single proxy is a /32 or /128)."""

_FORWARDED_FOR = b"x-forwarded-for"
_UNKNOWN = "unknown"


def parse_trusted_proxies(values: Sequence[str]) -> tuple[ProxyNetwork, ...]:
    """Parse the configured trusted proxies.

    Args:
        values: IP addresses (``10.0.0.5``, ``::1``) and CIDR networks (``10.0.0.0/8``).

    Returns:
        One network per value, in order.

    Raises:
        ValueError: For an entry that is neither, naming it; also for a network
            with host bits set (``10.0.0.5/8``), which is usually a typo.
    """
    networks: list[ProxyNetwork] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=True))
        except ValueError as error:
            raise ValueError(
                f"trusted proxy {value!r} is not an IP address or CIDR network ({error})"
            ) from None
    return tuple(networks)


@functools.lru_cache(maxsize=4096)  # parsed for every request; peers repeat (immutable result)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:443"
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
    trusted_proxies: Sequence[ProxyNetwork],
) -> bool:
    return any(address in network for network in trusted_proxies)


def client_ip(scope: Scope, trusted_proxies: Sequence[ProxyNetwork]) -> str:
    """The IP address of the client that sent the request.

    Args:
        scope: The ASGI scope of an HTTP or WebSocket request.
        trusted_proxies: The operator's reverse proxies (:func:`parse_trusted_proxies`).

    Returns:
        The peer's address when it is not a trusted proxy (or none is configured);
        otherwise the rightmost ``X-Forwarded-For`` address that is not a trusted
        proxy. A malformed entry stops the walk, and the last good address wins.
        ``"unknown"`` when the server does not know the peer.
    """
    client = scope.get("client")
    if not client:
        return _UNKNOWN
    peer_text = str(client[0])
    peer = _address(peer_text)
    if peer is None or not trusted_proxies or not _trusted(peer, trusted_proxies):
        return str(peer) if peer is not None else peer_text
    hops = [
        hop
        for name, value in scope.get("headers", ())
        if name.lower() == _FORWARDED_FOR
        for hop in value.decode("latin-1").split(",")
    ]
    current = peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break
        current = address
        if not _trusted(address, trusted_proxies):
            break
    return str(current)

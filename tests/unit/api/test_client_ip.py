"""The client's IP: X-Forwarded-For is believed only from trusted proxies."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from starlette.types import Scope

from bastion.api.rest.client_ip import client_ip, parse_trusted_proxies

PROXIES = parse_trusted_proxies(["10.0.0.0/8", "2001:db8:ffff::/48", "192.0.2.1"])


def scope(peer: str | None, *forwarded_for: str) -> Scope:
    return {
        "type": "http",
        "client": None if peer is None else (peer, 51234),
        "headers": [(b"x-forwarded-for", value.encode("latin-1")) for value in forwarded_for],
    }


def test_a_direct_client_is_its_peer_address() -> None:
    assert client_ip(scope("203.0.113.7"), PROXIES) == "203.0.113.7"


def test_a_client_behind_a_trusted_proxy_is_read_from_the_header() -> None:
    assert client_ip(scope("10.0.0.2", "203.0.113.7"), PROXIES) == "203.0.113.7"


def test_a_chain_of_trusted_proxies_is_walked_from_the_right() -> None:
    request = scope("10.0.0.2", "198.51.100.9, 203.0.113.7, 192.0.2.1, 10.1.2.3")
    assert client_ip(request, PROXIES) == "203.0.113.7"


def test_several_headers_read_as_one_list() -> None:
    request = scope("10.0.0.2", "198.51.100.9, 203.0.113.7", "10.9.9.9")
    assert client_ip(request, PROXIES) == "203.0.113.7"


def test_a_spoofed_leftmost_entry_is_ignored() -> None:
    # The client sent "X-Forwarded-For: 1.2.3.4"; the proxy appended the real address.
    assert client_ip(scope("10.0.0.2", "1.2.3.4, 203.0.113.7"), PROXIES) == "203.0.113.7"


def test_an_untrusted_peer_cannot_choose_its_address() -> None:
    assert client_ip(scope("203.0.113.7", "1.2.3.4"), PROXIES) == "203.0.113.7"
    assert client_ip(scope("203.0.113.7", "10.0.0.2"), PROXIES) == "203.0.113.7"


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_ip(scope("10.0.0.2", "1.2.3.4"), ()) == "10.0.0.2"


def test_a_malformed_entry_stops_the_walk_at_the_last_good_address() -> None:
    assert client_ip(scope("10.0.0.2", "1.2.3.4, bogus, 10.0.0.3"), PROXIES) == "10.0.0.3"
    assert client_ip(scope("10.0.0.2", "1.2.3.4, unknown"), PROXIES) == "10.0.0.2"
    assert client_ip(scope("10.0.0.2", ""), PROXIES) == "10.0.0.2"
    assert client_ip(scope("10.0.0.2", "1.2.3.4, ,203.0.113.7"), PROXIES) == "203.0.113.7"


def test_a_header_of_only_proxies_ends_at_the_leftmost() -> None:
    assert client_ip(scope("10.0.0.2", "10.0.0.4, 10.0.0.3"), PROXIES) == "10.0.0.4"


def test_ports_brackets_and_ipv6_are_understood() -> None:
    assert client_ip(scope("10.0.0.2", "203.0.113.7:4711"), PROXIES) == "203.0.113.7"
    assert client_ip(scope("10.0.0.2", "[2001:db8::7]:443"), PROXIES) == "2001:db8::7"
    assert client_ip(scope("2001:db8:ffff::1", "2001:DB8::7"), PROXIES) == "2001:db8::7"


def test_an_ipv4_mapped_peer_counts_as_ipv4() -> None:
    assert client_ip(scope("::ffff:10.0.0.2", "203.0.113.7"), PROXIES) == "203.0.113.7"
    assert client_ip(scope("::ffff:203.0.113.7"), PROXIES) == "203.0.113.7"


def test_an_unknown_or_non_ip_peer() -> None:
    assert client_ip(scope(None, "1.2.3.4"), PROXIES) == "unknown"
    assert client_ip(scope("testclient", "1.2.3.4"), PROXIES) == "testclient"


def test_trusted_proxies_accept_addresses_and_networks() -> None:
    assert parse_trusted_proxies([" 10.0.0.1 ", "fd00::/8"]) == (
        ipaddress.ip_network("10.0.0.1/32"),
        ipaddress.ip_network("fd00::/8"),
    )


@pytest.mark.parametrize("bad", ["10.0.0.300", "proxy.internal", "10.0.0.5/8", ""])
def test_a_bad_trusted_proxy_is_named(bad: str) -> None:
    with pytest.raises(ValueError, match=f"trusted proxy '{bad}'"):
        parse_trusted_proxies(["10.0.0.1", bad])


def raw_scope(peer: ipaddress.IPv4Address | ipaddress.IPv6Address, header: bytes) -> Scope:
    return {"type": "http", "client": (str(peer), 443), "headers": [(b"x-forwarded-for", header)]}


def plain(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return str(mapped or address)


headers = st.one_of(
    st.binary(max_size=60),
    st.lists(st.ip_addresses().map(str), max_size=4).map(lambda hops: ", ".join(hops).encode()),
)


@given(st.ip_addresses(), headers)
def test_without_trusted_proxies_the_result_is_always_the_peer(
    peer: ipaddress.IPv4Address | ipaddress.IPv6Address, header: bytes
) -> None:
    assert client_ip(raw_scope(peer, header), ()) == plain(peer)


@given(st.ip_addresses(), headers)
def test_an_untrusted_peer_is_always_the_result(
    peer: ipaddress.IPv4Address | ipaddress.IPv6Address, header: bytes
) -> None:
    assume(not any(ipaddress.ip_address(plain(peer)) in network for network in PROXIES))
    assert client_ip(raw_scope(peer, header), PROXIES) == plain(peer)

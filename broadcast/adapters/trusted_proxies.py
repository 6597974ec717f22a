"""Whose word we take for a client's address (LOAXA_TRUSTED_PROXIES): only our own reverse proxies'.

X-Forwarded-For is written by whoever sends the request; believing it from anyone would let a client pick a fresh
address for every failed sign-in, or blame someone else's. Each proxy appends the address it saw, so the list is
read from the right and the first address that is not one of our proxies is the client.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(text: str | None) -> Address | None:
    try:
        address = ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:10.0.0.1 from a dual-stack socket is 10.0.0.1
    return mapped or address


@dataclass(frozen=True)
class TrustedProxies:
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, value: str) -> TrustedProxies:
        """Comma-separated addresses or CIDR networks; empty: no proxy, the socket peer is the client."""
        networks = []
        for item in filter(None, (part.strip() for part in value.split(","))):
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"{item!r} không phải địa chỉ IP hay mạng CIDR (not an IP address or CIDR network)"
                                 ) from None
        return cls(tuple(networks))

    def trusts(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self.networks)

    def client(self, peer: str | None, forwarded_for: Iterable[str]) -> str | None:
        """The socket peer, unless it is a trusted proxy: then the rightmost X-Forwarded-For entry that is not one.
        An entry that is no address ends the walk at the last hop we could trust."""
        address = _address(peer)
        if not self.trusts(address):
            return peer
        hops = [hop for header in forwarded_for for hop in header.split(",")]
        for hop in reversed(hops):
            forwarded = _address(hop)
            if forwarded is None:
                break
            address = forwarded
            if not self.trusts(address):
                break
        return str(address)

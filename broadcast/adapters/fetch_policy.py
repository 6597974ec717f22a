"""Where the server may fetch media from (LOAXA_FETCH_ALLOW): public addresses, plus listed networks and host names.

A URL sent by someone else (a CAP resource, a bulletin's audio) must not make the server reach its own loopback,
its LAN or cloud metadata. Host names are resolved and every address judged, so odd spellings (2130706433, 0x7f.1,
[::ffff:127.0.0.1]) are judged by what they resolve to; the address actually connected to is judged again
(http_media), so DNS rebinding between the two lookups does not slip through.
"""
from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOST_NAME = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")


class FetchRefused(Exception):
    """The URL may not be fetched; the text is for the server log only (officers see one neutral message)."""


def _address(text: str) -> Address:
    return ipaddress.ip_address(text.split("%", 1)[0])  # a zone id (fe80::1%eth0) does not change the address


def _embedded_v4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped ::ffff:a.b.c.d, 6to4, NAT64): it is where packets end up."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _public(address: Address) -> bool:
    # is_global alone lets multicast and some reserved IPv6 forms (::a.b.c.d, NAT64) through on Python 3.11.
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


def _normal_name(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _numeric_v4(name: str) -> bool:
    """127.1, 0x7f.1, 2130706433: the resolver reads these as addresses, so they cannot be allowed as names."""
    try:
        socket.inet_aton(name)
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class FetchPolicy:
    networks: tuple[Network, ...] = ()
    names: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> FetchPolicy:
        """Comma-separated networks (CIDR or single addresses) and exact host names; ValueError names a bad one."""
        networks: list[Network] = []
        names: set[str] = set()
        for entry in filter(None, (e.strip() for e in text.split(","))):
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            name = _normal_name(entry)
            if not _HOST_NAME.match(name) or _numeric_v4(name):
                raise ValueError(f"mục không phải mạng CIDR hay tên máy: {entry!r} "
                                 f"(not a CIDR network or host name)")
            names.add(name)
        return cls(tuple(networks), frozenset(names))

    def allows_name(self, host: str) -> bool:
        return _normal_name(host) in self.names

    def allows_address(self, text: str) -> bool:
        try:
            address = _address(text)
        except ValueError:
            return False
        embedded = _embedded_v4(address)
        if any(form in network for form in (address, embedded) if form for network in self.networks):
            return True
        return _public(embedded or address)  # a wrapped IPv4 address is judged as the IPv4 it reaches

    def check_host(self, host: str, port: int) -> None:
        """An allowed name passes; anything else must resolve only to allowed addresses. Raises FetchRefused."""
        if self.allows_name(host):
            return
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise FetchRefused(f"cannot resolve {host!r}: {exc}") from None
        refused = sorted({str(info[4][0]) for info in infos if not self.allows_address(str(info[4][0]))})
        if refused or not infos:
            raise FetchRefused(f"{host!r} resolves to refused address(es) {refused}")

    def check_peer(self, host: str, peer: str | None) -> None:
        """The address the connection actually went to (None when the transport does not tell: refused)."""
        if self.allows_name(host):
            return
        if peer is None or not self.allows_address(peer):
            raise FetchRefused(f"{host!r} connected to refused address {peer!r}")

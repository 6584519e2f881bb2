"""The client's address: the socket peer, unless that peer is a proxy settings trust.

Behind trusted proxies, `X-Forwarded-For` is read from the right: each trusted
proxy appended the address it saw, so the first untrusted hop is the client.
Anything left of it was written by the client and is never believed.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from starlette.requests import Request

UNKNOWN_ADDRESS = "unknown"


def _parse_address(text: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(text.strip())
    except ValueError:
        return None


@lru_cache(maxsize=1024)
def _peer(host: str) -> tuple[IPv4Address | IPv6Address | None, str]:
    """The socket peer's address, and how it is written when it is the client's (a worker
    sees the same few peers, its proxies and its clients, again and again)."""
    address = _parse_address(host)
    return address, (host or UNKNOWN_ADDRESS) if address is None else str(address)


class ClientAddresses:
    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self._trusted: tuple[IPv4Network | IPv6Network, ...] = tuple(
            ip_network(proxy, strict=False) for proxy in trusted_proxies
        )

    def _is_trusted(self, address: IPv4Address | IPv6Address) -> bool:
        return any(address in network for network in self._trusted)

    def of(self, request: Request) -> str:
        host = request.client.host if request.client else ""
        peer, written = _peer(host)
        if peer is None or not self._is_trusted(peer):
            return written
        client = peer
        hops = [
            hop
            for header in request.headers.getlist("x-forwarded-for")
            for hop in header.split(",")
        ]
        for hop in reversed(hops):
            address = _parse_address(hop)
            if address is None:
                break
            client = address
            if not self._is_trusted(address):
                break
        return str(client)

"""Fetching media from URLs without becoming an SSRF proxy.

Rules: only http/https; the host is resolved once and every resolved address must be public
(no loopback, private, link-local incl. cloud metadata, multicast, reserved, unspecified,
site-local, carrier-grade NAT, documentation or Teredo addresses; the IPv4 address inside
IPv4-mapped, NAT64 and 6to4 forms is checked instead); the connection goes to the
checked address itself (Host header and TLS SNI keep the name), so a second DNS answer cannot
swap it; redirects are followed by hand and each hop is checked again; bodies are streamed with a
byte cap and bounded by connect/read timeouts.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from omniembed.errors import PayloadTooLargeError, URLFetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


Resolver = Callable[[str, int], Awaitable[list["IPAddress"]]]


@dataclass(frozen=True)
class FetchPolicy:
    enabled: bool = False
    allowed_domains: tuple[str, ...] = ()
    timeout_s: float = 10.0
    max_redirects: int = 3
    max_bytes: int = 64 * 1024 * 1024
    # Seams for tests (a stand-in "public" host on loopback, a fake DNS); production keeps the defaults.
    resolver: Resolver | None = None
    address_allowed: Callable[[IPAddress], bool] | None = None


# Refused whatever Python's `ipaddress` flags say: its `is_global`/`is_private` tables miss some
# of these (site-local fec0::/10, 6to4 relays, local-use NAT64, newer documentation prefixes) or
# change between Python versions.
_DENIED_V4 = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
    )
)
_DENIED_V6 = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "::/96",  # unspecified, loopback, IPv4-compatible (deprecated)
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments, Teredo (2001::/32) included
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
        "5f00::/16",  # SRv6 SIDs
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated; Python calls it global)
        "ff00::/8",  # multicast
    )
)
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _unwrap(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 form carries and a connection would reach, else the address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in _MAPPED or address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour is not None:
            return address.sixtofour
    return address


def is_public_address(address: IPAddress) -> bool:
    inner = _unwrap(address)
    denied = _DENIED_V4 if isinstance(inner, ipaddress.IPv4Address) else _DENIED_V6
    return not (
        any(inner in network for network in denied)
        or inner.is_private
        or inner.is_loopback
        or inner.is_link_local
        or inner.is_multicast
        or inner.is_reserved
        or inner.is_unspecified
        or (isinstance(inner, ipaddress.IPv6Address) and inner.is_site_local)
        or not inner.is_global
    )


def _host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    if not allowed:
        return True
    host = host.rstrip(".").lower()
    return any(
        host == domain or host.endswith("." + domain) for domain in (d.lower().strip(".") for d in allowed)
    )


async def _resolve(host: str, port: int) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise URLFetchError(f"Cannot resolve the media host '{host}'.", param="url") from error
    addresses: list[IPAddress] = []
    for info in infos:
        raw = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone id
        addresses.append(ipaddress.ip_address(raw))
    if not addresses:
        raise URLFetchError(f"The media host '{host}' has no addresses.", param="url")
    return addresses


async def check_url(url: str, policy: FetchPolicy) -> tuple[httpx.URL, IPAddress]:
    """Validate one URL hop and return it with the single address to connect to."""
    try:
        parts = urlsplit(url)
        parsed = httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as error:
        raise URLFetchError(f"Invalid media URL: {error}", param="url") from error
    if parts.scheme.lower() not in ("http", "https") or parsed.scheme not in ("http", "https"):
        raise URLFetchError("Only http and https media URLs are allowed.", param="url")
    if parts.username or parts.password or "@" in parts.netloc:
        raise URLFetchError("Media URLs with credentials are not allowed.", param="url")
    host = parsed.host
    if not host or host != (parts.hostname or "").lower().strip("[]"):
        # Two parsers disagreeing about the host is how allow-lists get bypassed.
        raise URLFetchError("The media URL's host is ambiguous.", param="url")
    if not _host_allowed(host, policy.allowed_domains):
        raise URLFetchError(f"The media host '{host}' is not in the allowed domains.", param="url")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    addresses = await (policy.resolver or _resolve)(host, port)
    allowed = policy.address_allowed or is_public_address
    # Every answer must be public, not just the first: DNS may rotate between them.
    for address in addresses:
        if not allowed(address):
            raise URLFetchError(
                f"The media host '{host}' resolves to a non-public address; refused.", param="url"
            )
    return parsed, addresses[0]


async def fetch_media(url: str, policy: FetchPolicy) -> bytes:
    if not policy.enabled:
        raise URLFetchError(
            "Fetching media from URLs is disabled on this server (start it with --allow-url-fetch), "
            "or send the bytes as base64 / a data URI.",
            param="url",
        )
    timeout = httpx.Timeout(policy.timeout_s, connect=min(5.0, policy.timeout_s))
    current = url
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for _hop in range(policy.max_redirects + 1):
            parsed, address = await check_url(current, policy)
            pinned = parsed.copy_with(host=str(address))
            headers = {"Host": parsed.netloc.decode("ascii"), "Accept": "image/*,video/*;q=0.9,*/*;q=0.1"}
            extensions = {"sni_hostname": parsed.host} if parsed.scheme == "https" else {}
            request = client.build_request("GET", pinned, headers=headers, extensions=extensions)
            try:
                response = await client.send(request, stream=True)
            except httpx.HTTPError as error:
                raise URLFetchError(
                    f"Fetching the media URL failed: {type(error).__name__}", param="url"
                ) from error
            try:
                if response.is_redirect:
                    location = response.headers.get("location")
                    if not location:
                        raise URLFetchError("The media URL redirected without a location.", param="url")
                    current = urljoin(str(parsed), location)
                    continue
                if response.status_code != 200:
                    raise URLFetchError(f"The media URL answered HTTP {response.status_code}.", param="url")
                return await _read_capped(response, policy.max_bytes)
            finally:
                await response.aclose()
    raise URLFetchError(f"The media URL redirected more than {policy.max_redirects} times.", param="url")


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLargeError(f"The media at the URL is larger than {max_bytes} bytes.", param="url")
    chunks: list[bytes] = []
    total = 0
    try:
        async for chunk in response.aiter_bytes():
            total += len(chunk)
            if total > max_bytes:
                raise PayloadTooLargeError(
                    f"The media at the URL is larger than {max_bytes} bytes.", param="url"
                )
            chunks.append(chunk)
    except httpx.HTTPError as error:
        raise URLFetchError(f"Reading the media URL failed: {type(error).__name__}", param="url") from error
    return b"".join(chunks)

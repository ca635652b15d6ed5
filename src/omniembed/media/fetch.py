"""Fetching media from URLs without becoming an SSRF proxy.

Rules: only http/https; the host is resolved once and every resolved address must be public
(no loopback, private, link-local incl. cloud metadata, multicast, reserved or unspecified
addresses, and IPv4-mapped/embedded IPv6 forms are unwrapped first); the connection goes to the
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


def _unwrap(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
        # NAT64 well-known prefix 64:ff9b::/96 embeds an IPv4 address in the last 32 bits.
        if address in ipaddress.ip_network("64:ff9b::/96"):
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def is_public_address(address: IPAddress) -> bool:
    inner = _unwrap(address)
    return not (
        inner.is_private
        or inner.is_loopback
        or inner.is_link_local
        or inner.is_multicast
        or inner.is_reserved
        or inner.is_unspecified
        or (isinstance(inner, ipaddress.IPv4Address) and inner in ipaddress.ip_network("100.64.0.0/10"))
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

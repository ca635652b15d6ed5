"""URL fetching cannot be turned into an SSRF proxy.

A corpus of hostile URLs is sent through the real app with fetching enabled: every one gets a 4xx
JSON error and a canary listening on 127.0.0.1 records zero connections. Redirect handling, DNS
pinning and byte caps are checked against a stand-in "public" host on 127.0.0.2, which only the
tests' address rule treats as public.
"""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from omniembed.api.app import create_app
from omniembed.engine.bootstrap import load_model
from omniembed.engine.engine import Engine, InputPolicy
from omniembed.errors import PayloadTooLargeError, URLFetchError
from omniembed.media.fetch import FetchPolicy, fetch_media, is_public_address
from omniembed.models.registry import resolve
from omniembed.settings import Settings
from tests.support.http_servers import canary, http_server, reply
from tests.support.media import encode, photo


def hostile_urls(port: int) -> list[str]:
    p = port
    return [
        f"http://127.0.0.1:{p}/",
        f"http://localhost:{p}/",
        f"http://LOCALHOST:{p}/",
        f"http://[::1]:{p}/",
        f"http://0.0.0.0:{p}/",
        f"http://0:{p}/",
        f"http://2130706433:{p}/",  # decimal 127.0.0.1
        f"http://0x7f000001:{p}/",  # hex
        f"http://0177.0.0.1:{p}/",  # octal
        f"http://0177.0.0.01:{p}/",
        f"http://127.1:{p}/",
        f"http://127.000.000.001:{p}/",
        f"http://[::ffff:127.0.0.1]:{p}/",  # IPv4-mapped IPv6
        f"http://[::ffff:7f00:1]:{p}/",
        f"http://[0:0:0:0:0:ffff:127.0.0.1]:{p}/",
        f"http://[64:ff9b::7f00:1]:{p}/",  # NAT64-embedded loopback
        f"http://[2002:7f00:1::]:{p}/",  # 6to4-embedded loopback
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://10.0.0.1/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://224.0.0.1/",  # multicast
        "http://255.255.255.255/",
        "http://[fe80::1]/",  # link-local
        "http://[fc00::1]/",  # unique local
        "http://[::]/",  # unspecified
        "http://[fec0::1]/",  # site-local (Python calls it global)
        "http://[64:ff9b::a00:1]/",  # NAT64-embedded private
        "http://[64:ff9b:1::a00:1]/",  # local-use NAT64
        "http://[2002:a00:1::]/",  # 6to4-embedded private
        "http://[2002:a9fe:a9fe::]/",  # 6to4-embedded cloud metadata
        "http://[::ffff:169.254.169.254]/",  # IPv4-mapped metadata
        "http://[::10.0.0.1]/",  # IPv4-compatible
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
        "http://100.127.255.254/",  # carrier-grade NAT, top
        f"http://user:pass@127.0.0.1:{p}/",
        f"http://example.com@127.0.0.1:{p}/",  # parser confusion: the host is 127.0.0.1
        f"http://127.0.0.1:{p}#@example.com/",
        f"http://127.0.0.1:{p}\\@example.com/",
        "http://127.0.0.1.nip.io/",  # DNS rebinding-style name (and no DNS here)
        "http://metadata.google.internal/",
        "file:///etc/passwd",
        f"ftp://127.0.0.1:{p}/",
        f"gopher://127.0.0.1:{p}/_",
        f"dict://127.0.0.1:{p}/",
        f"https://127.0.0.1:{p}/",
    ]


@pytest.fixture(scope="module")
async def fetching_client(tiny_clip_dir):
    engine = Engine(policy=InputPolicy(fetch=FetchPolicy(enabled=True, timeout_s=2)))
    await engine.add(load_model(resolve(f"tiny-clip={tiny_clip_dir}")))
    app = create_app(Settings(models=["tiny-clip"], allow_url_fetch=True), engine=engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=30
    ) as http:
        yield http
    await engine.close()


async def test_hostile_urls_are_refused_and_never_connected(fetching_client):
    with canary() as (port, recorder):
        urls = hostile_urls(port)
        assert len(urls) >= 30
        for url in urls:
            body = {"model": "tiny-clip", "input": [{"type": "image_url", "image_url": {"url": url}}]}
            response = await fetching_client.post("/v1/embeddings", json=body)
            assert 400 <= response.status_code < 500, (url, response.status_code, response.text)
            assert response.json()["error"]["message"], url
        assert recorder.connections == 0


def test_address_rules():
    for text in (
        "127.0.0.1",
        "10.1.2.3",
        "169.254.169.254",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
        "fe80::1",
        "::",
        # What Python's ipaddress misclassifies or leaves to version-dependent tables:
        "fec0::1",  # site-local: is_global is True
        "feff::1",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b:1::808:808",  # local-use NAT64, whatever it embeds
        "2002:a00:1::",  # 6to4 of 10.0.0.1
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "::ffff:100.64.0.1",  # mapped carrier-grade NAT
        "::7f00:1",  # IPv4-compatible 127.0.0.1
        "::808:808",  # IPv4-compatible, deprecated even when public
        "::ffff:0:a00:1",  # IPv4-translated (SIIT)
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "100.64.0.1",
        "100.127.255.254",
        "192.88.99.1",  # 6to4 relay anycast: is_global is True
        "192.0.0.170",
        "198.18.0.1",
        "240.0.0.1",
        "3fff::1",  # documentation (RFC 9637)
        "5f00::1",  # SRv6 SIDs
        "ff02::1",
    ):
        assert not is_public_address(ipaddress.ip_address(text)), text
    for text in (
        "93.184.216.34",
        "2606:2800:220:1:248:1893:25c8:1946",
        "8.8.8.8",
        "64:ff9b::808:808",  # NAT64 of a public address
        "2002:808:808::1",  # 6to4 of a public address
        "::ffff:8.8.8.8",
    ):
        assert is_public_address(ipaddress.ip_address(text)), text


STAND_IN = ipaddress.ip_address("127.0.0.2")


def stand_in_policy(**overrides: object) -> FetchPolicy:
    """127.0.0.2 plays a public host; every other address gets the real rule."""

    async def resolver(host: str, port: int) -> list:
        if host in ("media.test", "sub.media.test", "evil.test"):
            return [STAND_IN]
        return [ipaddress.ip_address(host)]

    options = {
        "enabled": True,
        "timeout_s": 2.0,
        "resolver": resolver,
        "address_allowed": lambda a: a == STAND_IN or is_public_address(a),
    }
    return FetchPolicy(**{**options, **overrides})  # type: ignore[arg-type]


async def test_connection_is_pinned_to_the_checked_address():
    jpeg = encode(photo("chelsea"))
    with http_server(reply(200, jpeg, {"Content-Type": "image/jpeg"})) as (port, recorder):
        data = await fetch_media(f"http://media.test:{port}/cat.jpg", stand_in_policy())
    assert data == jpeg
    # The name only exists in the policy's resolver: the socket went to the checked address.
    assert recorder.requests == [("/cat.jpg", f"media.test:{port}")]


async def test_redirect_to_a_private_address_is_refused():
    with canary() as (canary_port, canary_recorder):
        target = f"http://127.0.0.1:{canary_port}/secret"
        with (
            http_server(reply(302, headers={"Location": target})) as (port, _),
            pytest.raises(URLFetchError, match="non-public"),
        ):
            await fetch_media(f"http://media.test:{port}/", stand_in_policy())
        assert canary_recorder.connections == 0


async def test_too_many_redirects():
    def loop(handler) -> None:
        reply(302, headers={"Location": "/again"})(handler)

    with http_server(loop) as (port, recorder), pytest.raises(URLFetchError, match="more than 3"):
        await fetch_media(f"http://media.test:{port}/", stand_in_policy())
    assert len(recorder.requests) == 4  # the first hop and three redirects, then refused


async def test_allowed_domains():
    jpeg = encode(photo("coffee"))
    policy = stand_in_policy(allowed_domains=("media.test",))
    with http_server(reply(200, jpeg)) as (port, _):
        assert await fetch_media(f"http://sub.media.test:{port}/x.jpg", policy) == jpeg
        with pytest.raises(URLFetchError, match="allowed domains"):
            await fetch_media(f"http://evil.test:{port}/x.jpg", policy)


async def test_byte_cap_and_status_and_timeout():
    big = b"\xff" * 5000
    with http_server(reply(200, big)) as (port, _), pytest.raises(PayloadTooLargeError):
        await fetch_media(f"http://media.test:{port}/", stand_in_policy(max_bytes=1000))
    with http_server(reply(404, b"missing")) as (port, _), pytest.raises(URLFetchError, match="404"):
        await fetch_media(f"http://media.test:{port}/", stand_in_policy())

    def never(handler) -> None:
        import time

        time.sleep(3)

    with http_server(never) as (port, _), pytest.raises(URLFetchError):
        await fetch_media(f"http://media.test:{port}/", stand_in_policy(timeout_s=0.5))


async def test_fetching_disabled_by_default():
    with pytest.raises(URLFetchError, match="disabled"):
        await fetch_media("http://media.test/x.jpg", FetchPolicy())

"""With API keys set, every route except `/health` answers 401 without a valid key and works with one.

The routes are enumerated from the app itself, so a new route without a sample request fails here.
"""

from __future__ import annotations

import httpx
import pytest
from starlette.routing import Route

from omniembed.api.app import create_app
from omniembed.api.auth import ApiKeyMiddleware
from omniembed.settings import Settings
from tests.support.media import b64, encode, photo, video_path

KEY = "sk-test-0123456789"
JPEG = encode(photo("chelsea"))

# (method, route path) → (concrete path, request keyword arguments) that succeed with the key.
SAMPLES: dict[tuple[str, str], tuple[str, dict]] = {
    ("GET", "/health"): ("/health", {}),
    ("GET", "/ready"): ("/ready", {}),
    ("GET", "/metrics"): ("/metrics", {}),
    ("GET", "/v1/models"): ("/v1/models", {}),
    ("GET", "/v1/models/{model_id:path}"): ("/v1/models/minilm", {}),
    ("POST", "/v1/embeddings"): ("/v1/embeddings", {"json": {"model": "minilm", "input": "x"}}),
    ("POST", "/v2/embed"): ("/v2/embed", {"json": {"model": "minilm", "texts": ["x"]}}),
    ("POST", "/v1/embed"): ("/v1/embed", {"json": {"model": "minilm", "texts": ["x"]}}),
    ("POST", "/embeddings"): ("/embeddings", {"json": {"model": "minilm", "input": ["x"]}}),
    ("POST", "/embeddings_image"): (
        "/embeddings_image",
        {"json": {"model": "tiny-clip", "input": [f"data:image/jpeg;base64,{b64(JPEG)}"]}},
    ),
    # Always a 400 once past the key check: no served model has audio.
    ("POST", "/embeddings_audio"): (
        "/embeddings_audio",
        {"json": {"input": ["data:audio/wav;base64,UklGRg=="]}},
    ),
    ("GET", "/models"): ("/models", {}),
    ("POST", "/v1/score"): ("/v1/score", {"json": {"model": "minilm", "queries": ["a"], "documents": ["b"]}}),
    ("POST", "/v1/classify"): (
        "/v1/classify",
        {"json": {"model": "minilm", "inputs": ["a"], "labels": ["x", "y"]}},
    ),
    ("POST", "/v1/embeddings/text"): ("/v1/embeddings/text", {"json": {"model": "minilm", "input": "x"}}),
    ("POST", "/v1/embeddings/image"): (
        "/v1/embeddings/image",
        {"json": {"model": "tiny-clip", "image": b64(JPEG)}},
    ),
    ("POST", "/v1/embeddings/video"): (
        "/v1/embeddings/video",
        {"json": {"model": "tiny-clip", "video": b64(video_path().read_bytes()), "num_frames": 2}},
    ),
    ("GET", "/model/list"): ("/model/list", {}),
    ("GET", "/model/current"): ("/model/current", {}),
    ("GET", "/model/capabilities"): ("/model/capabilities", {}),
    ("POST", "/api/predict/nlp"): ("/api/predict/nlp", {"json": {"inputs": ["x"]}}),
    ("POST", "/api/predict/file"): (
        "/api/predict/file",
        {"files": {"predict_file": ("c.jpg", JPEG, "image/jpeg")}},
    ),
    ("POST", "/v1/collections"): ("/v1/collections", {"json": {"name": "auth-new", "model": "minilm"}}),
    ("GET", "/v1/collections"): ("/v1/collections", {}),
    ("GET", "/v1/collections/{name}"): ("/v1/collections/auth-kept", {}),
    ("DELETE", "/v1/collections/{name}"): ("/v1/collections/auth-doomed", {}),
    ("POST", "/v1/collections/{name}/items"): (
        "/v1/collections/auth-kept/items",
        {"json": {"items": [{"id": "a", "text": "hello"}]}},
    ),
    ("DELETE", "/v1/collections/{name}/items/{item_id:path}"): ("/v1/collections/auth-kept/items/a", {}),
    ("POST", "/v1/collections/{name}/search"): (
        "/v1/collections/auth-kept/search",
        {"json": {"query": {"text": "hello"}}},
    ),
    ("GET", "/openapi.json"): ("/openapi.json", {}),
    ("GET", "/docs"): ("/docs", {}),
    ("GET", "/docs/oauth2-redirect"): ("/docs/oauth2-redirect", {}),
    ("GET", "/redoc"): ("/redoc", {}),
    ("GET", "/docs/assets/{name}"): ("/docs/assets/swagger-ui.css", {}),
    # The web console's static files: open, like /health (the page asks for the key itself).
    ("GET", "/"): ("/", {}),
    ("GET", "/console/{name}"): ("/console/app.js", {}),
}
# Starlette adds HEAD to the GET routes it builds itself (docs, schema).
SAMPLES |= {("HEAD", path): sample for (method, path), sample in list(SAMPLES.items()) if method == "GET"}


@pytest.fixture(scope="module")
async def secured(engine, app_settings):
    settings = Settings(**{**app_settings.model_dump(), "api_keys": [KEY, "second-key"]})
    app = create_app(settings, engine=engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=60
    ) as http:
        for name in ("auth-kept", "auth-doomed"):
            created = await http.post(
                "/v1/collections",
                json={"name": name, "model": "minilm"},
                headers={"Authorization": f"Bearer {KEY}"},
            )
            assert created.status_code == 201, created.text
        yield app, http


def routes(app) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        if isinstance(route, Route):
            found += [(method, route.path) for method in sorted(route.methods or [])]
    return found


async def test_every_route_needs_the_key_except_health(secured):
    app, http = secured
    listed = routes(app)
    missing = [r for r in listed if r not in SAMPLES]
    assert not missing, f"add sample requests for {missing}"
    for method, template in listed:
        path, options = SAMPLES[(method, template)]
        refused = await http.request(method, path, **options)
        allowed = await http.request(method, path, headers={"Authorization": f"Bearer {KEY}"}, **options)
        if template in ("/health", "/", "/console/{name}"):
            assert refused.status_code == 200
            continue
        assert refused.status_code == 401, (method, path)
        assert refused.headers["www-authenticate"] == "Bearer"
        if method != "HEAD":  # in the route's own error shape (Cohere's on /v2/embed)
            body = refused.json()
            error = body if template in ("/v2/embed", "/v1/embed") else body["error"]
            assert error["code"] == "invalid_api_key" and error["message"], (method, path, body)
        if template == "/embeddings_audio":
            assert allowed.status_code == 400 and "no audio" in allowed.text
            continue
        assert 200 <= allowed.status_code < 300, (method, path, allowed.status_code, allowed.text[:300])


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {KEY}"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Bearer {KEY}x"},
        {"X-API-Key": KEY[:-1]},
    ],
)
async def test_bad_credentials(secured, headers):
    _, http = secured
    assert (
        await http.post("/v1/embeddings", json={"model": "minilm", "input": "x"}, headers=headers)
    ).status_code == 401


async def test_other_key_forms_work_and_unknown_paths_are_not_enumerable(secured):
    _, http = secured
    assert (await http.get("/v1/models", headers={"X-API-Key": "second-key"})).status_code == 200
    assert (await http.get("/no/such/path")).status_code == 401
    assert (await http.get("/no/such/path", headers={"Authorization": f"Bearer {KEY}"})).status_code == 404


def test_keys_are_held_only_as_digests():
    middleware = ApiKeyMiddleware(lambda *a: None, keys=[KEY])  # type: ignore[arg-type]
    assert all(KEY.encode() not in d for d in middleware.digests)
    assert (
        middleware.authorized(KEY)
        and not middleware.authorized(KEY + "!")
        and not middleware.authorized(None)
    )


def test_key_file(tmp_path):
    from omniembed.api.auth import load_keys

    path = tmp_path / "keys"
    path.write_text("# team keys\nalpha\n\n  beta  \n")
    assert load_keys(["gamma"], path) == ["gamma", "alpha", "beta"]

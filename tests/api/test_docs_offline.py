"""`/docs` and `/redoc` work on an offline host: every asset they load is served by us."""

from __future__ import annotations

import re

import pytest

_REFERENCES = re.compile(r"""(?:src|href)=["']([^"']+)["']|url:\s*'([^']+)'|spec-url=["']([^"']+)["']""")
_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".json": "application/json"}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_doc_pages_load_only_local_assets(client, page):
    response = await client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "://" not in html, "the page names an outside host"
    references = [next(group for group in match if group) for match in _REFERENCES.findall(html)]
    assert len(references) >= 3, references  # script, icon, the schema (+ stylesheet for Swagger UI)
    for reference in references:
        assert reference.startswith("/"), reference
        asset = await client.get(reference)
        assert asset.status_code == 200, reference
        suffix = reference[reference.rindex(".") :]
        assert asset.headers["content-type"].startswith(_TYPES[suffix]), (reference, asset.headers)
        assert len(asset.content) > 100


async def test_swagger_bundle_is_the_real_one(client):
    script = (await client.get("/docs/assets/swagger-ui-bundle.js")).text
    assert "SwaggerUIBundle" in script and len(script) > 500_000


async def test_only_known_assets_are_served(client):
    assert (await client.get("/docs/assets/core.py")).status_code == 404
    assert (await client.get("/docs/assets/..%2F__init__.py")).status_code == 404
    assert (await client.get("/docs/oauth2-redirect")).status_code == 200

"""Intel MES's routes in MES's own shapes (its src/app.py and docs/user-guide/api-reference.md)."""

from __future__ import annotations

import httpx
import pytest

from omniembed.api.app import create_app
from omniembed.catalog import load_catalog
from omniembed.engine.engine import Engine
from omniembed.settings import Settings
from tests.support.runtimes import openvino_adapter


async def test_models_lists_short_names_by_group(client):
    response = await client.get("/models")
    assert response.status_code == 200, response.text
    body = response.json()
    assert {"current_model", "available_models", "total_models"} <= set(body)
    assert body["object"] == "list"  # Infinity's listing shares the path
    assert body["current_model"] == "tiny-clip"
    groups = body["available_models"]
    assert groups["CLIP"][:2] == ["clip-vit-b-32", "clip-vit-b-16"]
    assert "cn-clip-vit-b-16" in groups["CN-CLIP"] and "mobileclip_s0" in groups["MobileCLIP"]
    assert "siglip2-vit-b-16" in groups["SigLIP"] and groups["Blip2"] == ["blip2_transformers"]
    assert "qwen3-embedding-0.6b" in groups["QwenText"]
    assert body["total_models"] == sum(len(names) for names in groups.values()) == len(load_catalog().entries)


async def test_model_list_is_models_plus_catalog_cards(client):
    body = (await client.get("/model/list")).json()
    assert body["available_models"] == (await client.get("/models")).json()["available_models"]
    assert "CLIP/clip-vit-b-32" in [card["id"] for card in body["models"]]
    assert body["served_models"] == ["tiny-clip", "minilm"]


async def test_model_current_on_torch(client):
    body = (await client.get("/model/current")).json()
    assert {key: body[key] for key in ("model", "device", "use_openvino")} == {
        "model": "tiny-clip",
        "device": "CPU",
        "use_openvino": False,
    }
    assert body["runtime"] == "torch"


@pytest.fixture(scope="module")
async def openvino_client(tiny_clip_dir, models_cache):
    engine = Engine()
    await engine.add(openvino_adapter(tiny_clip_dir, models_cache))
    # What the issue saw: the runtime and device left to `auto`, the model on OpenVINO.
    app = create_app(Settings(runtime="auto", device="auto"), engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        yield http
    await engine.close()


async def test_model_current_reports_openvino(openvino_client):
    body = (await openvino_client.get("/model/current")).json()
    assert body["use_openvino"] is True and body["device"] == "CPU"
    assert body["runtime"].startswith("openvino")
    capabilities = (await openvino_client.get("/model/capabilities")).json()
    assert capabilities["supports_image"] is True


async def test_mes_responses_are_typed_in_openapi(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in ("/models", "/model/list", "/model/current", "/model/capabilities"):
        schema = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert "$ref" in schema, (path, schema)

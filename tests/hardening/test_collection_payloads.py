"""Collections refuse metadata, ids and filters the store could not hold or answer (400 or 413 in
the OpenAI error shape, a typed error in Python), and no accepted write leaves a collection
unreadable: not right away, not after the store is reopened.

Before the fix, metadata nested 127 deep answered 200 and every later search, GET and add of that
collection answered 500 (also after a restart); hostile filter keys and int64-overflowing filter
values answered 500."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from omniembed.api.app import create_app
from omniembed.errors import InvalidInputError, OmniEmbedError, PayloadTooLargeError
from omniembed.retrieval import payload as limits
from omniembed.retrieval.edge_store import EdgeStore
from omniembed.retrieval.ingest import IndexReport, index_file, source_name
from omniembed.retrieval.schema import StoredPoint
from omniembed.retrieval.server_store import ServerStore
from omniembed.retrieval.service import CollectionItem, CollectionService


def nested(depth: int, kind: str = "dict") -> Any:
    """`depth` objects (or arrays) around a leaf: `nested(1)` is `{"a": 1}`."""
    value: Any = 1
    for _ in range(depth):
        value = {"a": value} if kind == "dict" else [value]
    return value if kind == "dict" else {"a": value}


def item(item_id: str, metadata: Any) -> dict[str, Any]:
    return {"id": item_id, "text": f"note {item_id} about espresso", "metadata": metadata}


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    return error  # type: ignore[no-any-return]


async def search(client: httpx.AsyncClient, name: str, **body: Any) -> httpx.Response:
    return await client.post(f"/v1/collections/{name}/search", json={"query": {"text": "espresso"}, **body})


async def assert_readable(client: httpx.AsyncClient, name: str, count: int) -> None:
    described = await client.get(f"/v1/collections/{name}")
    assert described.status_code == 200 and described.json()["count"] == count, described.text
    found = await search(client, name, top_k=50)
    assert found.status_code == 200 and len(found.json()["hits"]) == count, found.text


@pytest.fixture(scope="module")
async def payloads(client: httpx.AsyncClient) -> str:
    """A collection on the shared app, with one item to find."""
    if (await client.get("/v1/collections/payloads")).status_code == 404:
        created = await client.post("/v1/collections", json={"name": "payloads", "model": "minilm"})
        assert created.status_code == 201, created.text
    added = await client.post("/v1/collections/payloads/items", json={"items": [item("base", {"n": 1})]})
    assert added.status_code == 200, added.text
    return "payloads"


async def add(client: httpx.AsyncClient, name: str, item_id: str, metadata: Any) -> httpx.Response:
    return await client.post(f"/v1/collections/{name}/items", json={"items": [item(item_id, metadata)]})


@pytest.mark.parametrize(("depth", "kind"), [(127, "dict"), (127, "list"), (limits.MAX_DEPTH + 1, "dict")])
async def test_deep_metadata_is_refused_and_the_collection_survives_a_restart(
    engine, app_settings, tmp_path, depth, kind
):
    own = app_settings.model_copy(update={"data_dir": tmp_path / "data"})
    first = create_app(own, engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://t") as client:
        created = await client.post("/v1/collections", json={"name": "deep", "model": "minilm"})
        assert created.status_code == 201 and (await add(client, "deep", "a", {})).status_code == 200
        error = assert_error(await add(client, "deep", "b", nested(depth, kind)), 400)
        assert error["param"].startswith("items[0].metadata") and "deeper" in error["message"]
        await assert_readable(client, "deep", 1)
        assert (await add(client, "deep", "c", {})).status_code == 200
    first.state.services.close()  # what shutdown does: the next app reopens the shard (WAL replay)
    second = create_app(own, engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://t") as client:
        await assert_readable(client, "deep", 2)
        assert (await add(client, "deep", "d", {})).status_code == 200
        await assert_readable(client, "deep", 3)
    second.state.services.close()


# Refused as metadata keys and as filter keys ('.' and '[]' are filter path syntax, refused in keys).
KEYS = ["", "a b", "a:b", "a/b", "$a", "a\x00b", "\ufeffa", "\u202ea", "a\u200bb", "k" * 65]
KEYS += ["größe", "a\nb", '"a"', "a\\b", "a..b", ".a", "a.", "a[", "a]", "a[0]"]
BAD_METADATA = [(f"key {json.dumps(key)}", {key: 1}, 400) for key in [*KEYS, "a.b", "a[]"]] + [
    ("nested bad key", {"ok": {"a b": 1}}, 400),
    ("int 2^63", {"n": 2**63}, 400),
    ("int 2^64-1", {"n": 2**64 - 1}, 400),
    ("depth 9", nested(limits.MAX_DEPTH + 1), 400),
    ("long string", {"s": "x" * (limits.MAX_STRING_CHARS + 1)}, 413),
    ("long list", {"l": list(range(limits.MAX_LIST_ITEMS + 1))}, 413),
    ("too many bytes", {f"s{i}": "x" * 8000 for i in range(9)}, 413),
    ("not an object", [1, 2], 400),
]


@pytest.mark.parametrize(("case", "metadata", "status"), BAD_METADATA, ids=[c[0] for c in BAD_METADATA])
async def test_bad_metadata_is_refused(client, payloads, case, metadata, status):
    assert_error(await add(client, payloads, "bad", metadata), status)
    await assert_readable(client, payloads, 1)


async def test_metadata_at_the_limits_is_stored_and_filterable(client, payloads):
    edge = {
        "deep": nested(limits.MAX_DEPTH - 1),
        "k" * 64: "x" * limits.MAX_STRING_CHARS,
        "list": list(range(limits.MAX_LIST_ITEMS)),
        "big": 2**63 - 1,
        "small": -(2**63),
        "float": 1e308,
        "tags": [{"name": "red"}, {"name": "blue"}],
        "flag": True,
        "note": "größe \u202e\x00 are fine in values",
        "nothing": None,
    }
    added = await add(client, payloads, "edge", edge)
    assert added.status_code == 200, added.text
    for key, value in [
        ("big", 2**63 - 1),
        ("small", -(2**63)),
        ("deep." + ".".join(["a"] * (limits.MAX_DEPTH - 1)), 1),
        ("tags[].name", "blue"),
        ("list", [7, 9999]),
        ("flag", True),
    ]:
        found = await search(client, payloads, filter={key: value})
        assert found.status_code == 200 and [h["id"] for h in found.json()["hits"]] == ["edge"], (
            key,
            found.text,
        )
    await client.delete(f"/v1/collections/{payloads}/items/edge")


FILTER_KEYS = [*KEYS, ".".join(["a"] * (limits.MAX_DEPTH + 1)), "a b.c", "a.b c", "a[].$"]


@pytest.mark.parametrize("key", FILTER_KEYS, ids=[json.dumps(k) for k in FILTER_KEYS])
async def test_hostile_filter_keys_are_400_naming_the_key(client, payloads, key):
    error = assert_error(await search(client, payloads, filter={key: "v"}), 400)
    assert json.dumps(key) in error["message"] and error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    "value",
    # (JSON integers beyond the u64 range arrive as floats; -2^63-1 rounds to -2^63, a valid int64)
    [2**63, 2**63 + 12345, 2**64 - 1, [1, 2**63], [2**64 - 1], ["a", 1], [True], [1.5], 1.5, None],
    ids=str,
)
async def test_out_of_range_or_mixed_filter_values_are_400(client, payloads, value):
    error = assert_error(await search(client, payloads, filter={"n": value}), 400)
    assert error["param"].startswith("filter")


async def test_other_search_and_item_bounds(client, payloads):
    assert_error(await search(client, payloads, filter={f"k{i}": 1 for i in range(33)}), 400)
    assert_error(await search(client, payloads, filter={"n": list(range(1025))}), 400)
    assert_error(await search(client, payloads, top_k=limits.MAX_TOP_K + 1), 400)
    long_id = {"items": [{"id": "x" * (limits.MAX_ID_CHARS + 1), "text": "espresso"}]}
    assert_error(await client.post(f"/v1/collections/{payloads}/items", json=long_id), 400)
    assert_error(await client.delete(f"/v1/collections/{payloads}/items/{'x' * 1025}"), 400)
    await assert_readable(client, payloads, 1)


# Valid keys and in-range values are drawn often enough that many writes succeed.
VALID_KEYS = st.from_regex(r"[A-Za-z0-9_-]{1,8}", fullmatch=True)
ODD_KEYS = st.one_of(st.text(max_size=6), st.sampled_from(["k" * 65, "a.b", "a b", "$", "a\u200bb"]))
JSON_KEYS = st.integers(0, 15).flatmap(lambda n: ODD_KEYS if n == 0 else VALID_KEYS)
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=limits.INT64_MIN, max_value=limits.INT64_MAX),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),  # NaN and infinities make the body invalid JSON: a 400 too
    st.text(max_size=12),
    st.sampled_from([1, 3, limits.MAX_DEPTH - 1, limits.MAX_DEPTH, 127]).map(nested),
)
JSON_VALUES = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(JSON_KEYS, children, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=50,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(metadata=st.dictionaries(JSON_KEYS, JSON_VALUES, max_size=5))
async def test_any_json_metadata_is_stored_or_refused_and_search_keeps_working(client, payloads, metadata):
    body = json.dumps({"items": [item("generated", metadata)]})  # allow_nan: a body orjson refuses
    response = await client.post(
        f"/v1/collections/{payloads}/items", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code in (200, 400, 413), response.text
    event(f"status {response.status_code}")
    if response.status_code != 200:
        assert_error(response, response.status_code)
    found = await search(client, payloads, top_k=5)
    assert found.status_code == 200, found.text
    assert (await client.get(f"/v1/collections/{payloads}")).status_code == 200


# --- Both stores, through the service (what the Python API and `omniembed index` call) ---------


@pytest.fixture(params=["edge", "server"])
def service(request, engine, tmp_path):
    if request.param == "edge":
        store: Any = EdgeStore(tmp_path / "data")
    else:
        from qdrant_client import QdrantClient

        store = ServerStore(QdrantClient(location=":memory:"))
    yield CollectionService(engine, store)
    store.close()


def note(item_id: str, metadata: Any) -> CollectionItem:
    return CollectionItem(id=item_id, modality="text", text=f"note {item_id}", metadata=metadata)


PYTHON_ONLY = [
    ({"n": math.nan}, InvalidInputError),
    ({"n": -math.inf}, InvalidInputError),
    ({"s": "\ud800"}, InvalidInputError),
    ({1: "int key"}, InvalidInputError),
    ({"s": {1, 2}}, InvalidInputError),
    ({"b": b"bytes"}, InvalidInputError),
    ({"n": 2**64}, InvalidInputError),
    ({"n": -(2**63) - 1}, InvalidInputError),
    ({"a": nested(127)}, InvalidInputError),
    ({"s": "x" * 70_000}, PayloadTooLargeError),
    ({f"k{i}": i for i in range(70_000)}, PayloadTooLargeError),
]
REFUSED = [*PYTHON_ONLY, ({"a b": 1}, InvalidInputError), ({"n": 2**63}, InvalidInputError)]


async def test_both_stores_refuse_and_stay_readable(service):
    await service.create("gate", "minilm")
    await service.add("gate", [note("ok", {"tags": ("a", "b"), "flag": False})])
    for metadata, kind in REFUSED:
        with pytest.raises(kind):
            await service.add("gate", [note("bad", metadata)])
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    with pytest.raises(InvalidInputError, match="deeper"):
        await service.add("gate", [note("cycle", cyclic)])
    deep = StoredPoint(
        id="raw", vector=[1.0] * 384, sparse=None, payload={"id": "raw", "metadata": nested(127)}
    )
    with pytest.raises(InvalidInputError):  # the store's own gate, for callers that skip the service
        service.store.upsert("gate", [deep])
    [stored] = await service.retrieve("gate", ["ok"])
    assert stored.payload["metadata"] == {"tags": ["a", "b"], "flag": False}
    assert [h.id for h in await service.search("gate", text="note", filter={"flag": False})] == ["ok"]
    assert await service.search("gate", text="note", filter={"flag": True}) == []
    for bad in ({"a b": 1}, {"n": 2**63}, {"n": 1.5}, {"n": None}, {"n": [True]}, "flag"):
        with pytest.raises(InvalidInputError):
            await service.search("gate", text="note", filter=bad)  # type: ignore[arg-type]
    for arguments in ({"top_k": 0}, {"top_k": 10**9}, {"mode": "fuzzy"}, {"modalities": ("smell",)}):
        with pytest.raises(InvalidInputError):
            await service.search("gate", text="note", **arguments)
    with pytest.raises(InvalidInputError):
        await service.delete_items("gate", ["\ud800"])
    assert (await service.describe("gate"))[1] == 1


async def test_boolean_filters_match_booleans_not_integers(service):
    await service.create("flags", "minilm")
    await service.add("flags", [note("yes", {"f": True}), note("one", {"f": 1}), note("no", {"f": False})])
    assert [h.id for h in await service.search("flags", text="note", filter={"f": True})] == ["yes"]
    assert [h.id for h in await service.search("flags", text="note", filter={"f": 1})] == ["one"]
    assert [h.id for h in await service.search("flags", text="note", filter={"f": False})] == ["no"]


async def test_service_refuses_bad_names_and_quantization(service):
    for name in ("notes\n", "", "a" * 65, "../x"):
        with pytest.raises(InvalidInputError):
            await service.create(name, "minilm")
    with pytest.raises(InvalidInputError):
        await service.create("q", "minilm", quantization="int4")
    assert await service.list_configs() == []


async def test_index_reports_a_file_whose_name_is_not_unicode(service, tmp_path):
    await service.create("kb", "minilm")
    root = tmp_path / "docs"
    root.mkdir()
    path = root / os.fsdecode(b"bad-\xff.txt")  # a Linux name that is not UTF-8: a lone surrogate in Python
    try:
        path.write_text("espresso is brewed under pressure")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this filesystem refuses non-UTF-8 names")
    with pytest.raises(OmniEmbedError):  # `omniembed index` records it as failed and goes on
        await index_file(service, "kb", path, source_name(root, path), IndexReport(), 200, 40)
    assert (await service.describe("kb"))[1] == 0


# --- The Python API ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedder(minilm_dir):
    from omniembed.embedder import Embedder

    with Embedder(f"minilm={minilm_dir}", batch_wait_ms=1) as built:
        yield built


def test_python_collection_refuses_the_same_payloads(embedder, tmp_path: Path):
    from omniembed.retrieval import Collection

    notes = Collection.create("notes", embedder, data_dir=tmp_path)
    notes.add([{"id": "ok", "text": "espresso", "metadata": {"lang": "en"}}])
    for metadata, kind in REFUSED:
        with pytest.raises(kind):
            notes.add([{"id": "bad", "text": "x", "metadata": metadata}])
    for bad in ([1, 2], "text"):
        with pytest.raises(InvalidInputError):
            notes.add([{"id": "bad", "text": "x", "metadata": bad}])
    for key in FILTER_KEYS:
        with pytest.raises(InvalidInputError, match="Filter key"):
            notes.search("espresso", filter={key: 1})
    with pytest.raises(InvalidInputError):
        notes.search("espresso", filter={"n": 2**64 - 1})
    with pytest.raises(InvalidInputError):
        notes.search("espresso", top_k=0)
    with pytest.raises(InvalidInputError):
        Collection.create("q", embedder, quantization="int4", data_dir=tmp_path)
    assert [h.id for h in notes.search("espresso", filter={"lang": "en"})] == ["ok"]
    notes.close()
    reopened = Collection.open("notes", embedder, data_dir=tmp_path)
    assert reopened.count() == 1 and [h.id for h in reopened.search("espresso")] == ["ok"]
    reopened.close()

"""The client libraries people already point at embedding servers, unchanged, against a real
`omniembed serve` process: LangChain (`OpenAIEmbeddings`, `CohereEmbeddings`), LlamaIndex
(`OpenAIEmbedding`) and LiteLLM (`embedding`/`aembedding`, openai and cohere providers).

Each must get what omniembed's own `/v1/embeddings` returns for the same texts (cosine ≥ 0.9999),
with the model's query and document prompts where the client says which it sends. The model is
all-MiniLM-L6-v2 with E5-style prompts declared in its own files. Everything runs offline: the
clients are imported and used with every non-loopback name lookup and connection refused and
recorded, and none may be attempted (LiteLLM's cost map and other downloads are switched off by
its documented `LITELLM_LOCAL_MODEL_COST_MAP` and `LITELLM_OFFLINE_MODE`).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import numpy as np
import pytest

from tests.support.server import running_server

KEY = "not-needed"
MODEL = "e5"
TEXTS = ["a photo of a cat on a sofa", "Berlin is the capital of Germany", "naïve café ☕"]
PROMPTS = {"query": "query: ", "document": "passage: "}
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
# LiteLLM's TypedDicts use ReadOnly, which pydantic warns about on every schema it builds.
pytestmark = pytest.mark.filterwarnings("ignore:Items? .* using the `ReadOnly` qualifier:UserWarning")


@pytest.fixture(scope="module")
def network_attempts() -> Iterator[list[object]]:
    """Refuse (and record) every lookup or connection that leaves the machine while the clients
    are imported and used; the module's last check is that there was none."""
    attempts: list[object] = []
    real_lookup, real_connect = socket.getaddrinfo, socket.socket.connect

    def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name not in LOOPBACK:
            attempts.append(name)
            raise socket.gaierror(socket.EAI_NONAME, f"offline test: no lookup of {name}")
        return real_lookup(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and address[0] not in LOOPBACK:
            attempts.append(address)
            raise OSError(f"offline test: no connection to {address}")
        return real_connect(self, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        patch.setenv("LITELLM_OFFLINE_MODE", "true")
        patch.setattr(socket, "getaddrinfo", lookup)
        patch.setattr(socket.socket, "connect", connect)
        yield attempts


@pytest.fixture(scope="module")
def clients(network_attempts: list[object]) -> dict[str, ModuleType]:
    names = ("langchain_openai", "langchain_cohere", "llama_index.embeddings.openai", "litellm")
    return {name: importlib.import_module(name) for name in names}


@pytest.fixture(scope="module")
def e5_dir(minilm_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MiniLM's files, linked, with E5's prompts in its sentence-transformers config."""
    directory = tmp_path_factory.mktemp("models") / "e5-minilm"
    directory.mkdir()
    for source in minilm_dir.iterdir():
        if source.name != "config_sentence_transformers.json":
            (directory / source.name).symlink_to(source)
    config = json.loads((minilm_dir / "config_sentence_transformers.json").read_text())
    (directory / "config_sentence_transformers.json").write_text(json.dumps({**config, "prompts": PROMPTS}))
    return directory


@pytest.fixture(scope="module")
def server(e5_dir: Path, clients: dict[str, ModuleType]) -> Iterator[str]:
    with running_server(["--model", f"{MODEL}={e5_dir}"]) as running:
        yield running.url


@pytest.fixture(scope="module")
def reference(server: str) -> dict[str | None, np.ndarray]:
    """omniembed's own vectors for TEXTS: plain, and with the query and the document prompt."""
    vectors: dict[str | None, np.ndarray] = {}
    for input_type in (None, "search_query", "search_document"):
        body: dict[str, Any] = {"model": MODEL, "input": TEXTS}
        if input_type:
            body["input_type"] = input_type
        rows = httpx.post(f"{server}/v1/embeddings", json=body, timeout=60).json()["data"]
        vectors[input_type] = np.asarray([row["embedding"] for row in rows])
    return vectors


def assert_same(vectors: Any, expected: np.ndarray) -> None:
    got = np.asarray(vectors, dtype=np.float64)
    assert got.shape == expected.shape
    cosines = np.sum(got * expected, axis=1) / np.linalg.norm(got, axis=1) / np.linalg.norm(expected, axis=1)
    assert cosines.min() >= 0.9999, cosines


def test_prompts_change_the_vectors(reference):
    """Otherwise the prompt checks below would prove nothing."""
    for input_type in ("search_query", "search_document"):
        cosines = np.sum(reference[input_type] * reference[None], axis=1)
        assert cosines.max() < 0.999, cosines


def test_langchain_openai(clients, server, reference):
    embeddings = clients["langchain_openai"].OpenAIEmbeddings(
        model=MODEL,
        base_url=f"{server}/v1",
        api_key=KEY,
        check_embedding_ctx_length=False,  # else it sends tiktoken ids (and fetches tiktoken's files)
        max_retries=0,
    )
    assert_same(embeddings.embed_documents(TEXTS), reference[None])
    assert_same([embeddings.embed_query(TEXTS[0])], reference[None][:1])
    assert_same(asyncio.run(embeddings.aembed_documents(TEXTS)), reference[None])


def test_langchain_cohere_sends_query_and_document_types(clients, server, reference):
    """langchain-cohere posts Embed v1 (`/v1/embed`, `embedding_types: ["float"]`) with
    `input_type` search_document for documents and search_query for queries."""
    embeddings = clients["langchain_cohere"].CohereEmbeddings(
        model=MODEL, base_url=server, cohere_api_key=KEY, max_retries=1
    )
    assert_same(embeddings.embed_documents(TEXTS), reference["search_document"])
    assert_same([embeddings.embed_query(TEXTS[1])], reference["search_query"][1:2])

    async def both() -> tuple[Any, Any]:  # one event loop: the SDK's async client is bound to it
        return await embeddings.aembed_documents(TEXTS), await embeddings.aembed_query(TEXTS[2])

    documents, query = asyncio.run(both())
    assert_same(documents, reference["search_document"])
    assert_same([query], reference["search_query"][2:])


def test_llama_index_openai(clients, server, reference):
    """LlamaIndex checks `model` against OpenAI's names; `model_name` is what it then sends."""
    embedding = clients["llama_index.embeddings.openai"].OpenAIEmbedding(
        model_name=MODEL, api_base=f"{server}/v1", api_key=KEY, max_retries=0
    )
    assert_same(embedding.get_text_embedding_batch(TEXTS), reference[None])
    assert_same([embedding.get_query_embedding(TEXTS[0])], reference[None][:1])
    assert_same(asyncio.run(embedding.aget_text_embedding_batch(TEXTS)), reference[None])


def _litellm_vectors(response: Any) -> list[Any]:
    return [row["embedding"] for row in response.data]


def test_litellm_openai_provider(clients, server, reference):
    litellm = clients["litellm"]
    options = {"model": f"openai/{MODEL}", "api_base": f"{server}/v1", "api_key": KEY}
    response = litellm.embedding(input=TEXTS, **options)
    assert_same(_litellm_vectors(response), reference[None])
    own = httpx.post(f"{server}/v1/embeddings", json={"model": MODEL, "input": TEXTS}, timeout=60).json()
    assert response.usage.prompt_tokens == own["usage"]["prompt_tokens"]
    response = asyncio.run(litellm.aembedding(input=TEXTS, **options))
    assert_same(_litellm_vectors(response), reference[None])


@pytest.mark.parametrize("path", ["/v2/embed", "/v1/embed"])
def test_litellm_cohere_provider(clients, server, reference, path):
    """LiteLLM's cohere provider posts to `api_base` as given (Embed v2 by default), sending
    `input_type` search_document unless told otherwise."""
    litellm = clients["litellm"]
    options = {"model": f"cohere/{MODEL}", "api_base": f"{server}{path}", "api_key": KEY}
    response = litellm.embedding(input=TEXTS, **options)
    assert_same(_litellm_vectors(response), reference["search_document"])
    assert response.usage.prompt_tokens > 0
    query = asyncio.run(litellm.aembedding(input=TEXTS[:1], input_type="search_query", **options))
    assert_same(_litellm_vectors(query), reference["search_query"][:1])


def test_nothing_left_the_machine(network_attempts, reference):
    assert network_attempts == []

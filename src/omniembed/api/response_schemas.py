"""The success bodies of routes that build their responses by hand, as OpenAPI schemas.

Handlers return `ORJSONResponse` (fast, and vectors go out as numpy arrays), so FastAPI cannot
infer their bodies; these models describe them for generated clients. `type_responses()` fills the
success response of each route listed in ROUTES whose schema is still empty (a route that declares
its own `response_model` keeps it).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field, RootModel

# float, or int8/uint8/binary/ubinary integers, or base64 text (OpenAI `encoding_format: base64`).
Vector = list[float] | list[int] | str
# A late-interaction item: its token vectors (float or quantized rows), or base64 of the whole matrix.
Matrix = list[list[float]] | list[list[int]] | str


class SparseEmbedding(BaseModel):
    indices: list[int] = Field(description="vocabulary ids, ascending")
    values: list[float]
    tokens: list[str] | None = Field(default=None, description="each id's token (return_tokens)")


ITEM_TOKENS = "tokens of each input item, in input order (omitted when not counted)"


class Usage(BaseModel):
    prompt_tokens: int
    total_tokens: int
    item_tokens: list[int] | None = Field(default=None, description=ITEM_TOKENS)


class ScoreUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int
    query_tokens: list[int] | None = Field(default=None, description="tokens of each query")
    document_tokens: list[int] | None = Field(default=None, description="tokens of each document")


class FrameEmbedding(BaseModel):
    timestamp: float
    embedding: Vector


class OpenAIEmbedding(BaseModel):
    object: str = "embedding"
    index: int
    embedding: Vector | Matrix | SparseEmbedding
    frames: list[FrameEmbedding] | None = None
    shape: list[int] | None = Field(default=None, description="multi-vector output: [n_tokens, dim]")


class OpenAIEmbeddingList(BaseModel):
    object: str = "list"
    data: list[OpenAIEmbedding]
    model: str
    usage: Usage


class InfinityEmbeddingList(OpenAIEmbeddingList):
    id: str
    created: int


class MesEmbeddingResponse(BaseModel):
    embedding: list[float] | list[list[float]] = Field(
        description="one vector (a text string, an image), or one per text or per video frame"
    )


class InfinityOrMesEmbeddings(RootModel[InfinityEmbeddingList | MesEmbeddingResponse]):
    """`POST /embeddings`: Infinity's list for Infinity's body, MES's `embedding` for MES's."""


class CohereApiVersion(BaseModel):
    version: str


class CohereBilledUnits(BaseModel):
    input_tokens: int
    images: int
    item_tokens: list[int] | None = Field(default=None, description=ITEM_TOKENS)


class CohereMeta(BaseModel):
    api_version: CohereApiVersion
    billed_units: CohereBilledUnits


class CohereEmbedResponse(BaseModel):
    id: str
    response_type: str  # embeddings_by_type (v2), or embeddings_floats (v1)
    embeddings: dict[str, list[Vector]] | list[list[float]]
    texts: list[str]
    meta: CohereMeta


class ScoreResponse(BaseModel):
    object: str = "score"
    model: str
    scores: list[list[float]]
    logits: list[list[float]] | None
    probabilities: list[list[float]] | None
    activation: str | None
    metric: str = Field(description="cosine, maxsim (late-interaction models) or dot (learned-sparse)")
    usage: ScoreUsage


class PoolingData(BaseModel):
    index: int
    object: str = "pooling"
    data: Vector | Matrix
    shape: list[int] | None = Field(default=None, description="token_embed: [n_tokens, dim]")


class PoolingResponse(BaseModel):
    id: str
    object: str = "list"
    created: int
    model: str
    data: list[PoolingData]
    usage: Usage


class LabelScore(BaseModel):
    label: str
    score: float
    similarity: float


class Classification(BaseModel):
    index: int
    label: str
    labels: list[LabelScore]


class ClassifyResponse(BaseModel):
    object: str = "classification"
    model: str
    multi_label: bool
    calibrated: bool
    data: list[Classification]
    usage: Usage


class LlamaStackEmbedding(BaseModel):
    model: str
    embedding: list[float] | None = None
    embeddings: list[list[float]] | None = None
    dims: int | None = None


class SambaResponse(BaseModel):
    data: list[list[float]]


class VideoUsage(BaseModel):
    frames: int


class VideoEmbeddingResponse(BaseModel):
    object: str = "video.embedding"
    model: str
    embedding: Vector
    frames: list[FrameEmbedding] | None = None
    usage: VideoUsage


class HealthResponse(BaseModel):
    status: str


class ReadyResponse(BaseModel):
    status: str
    models: list[str] | None = None


class ModelCard(BaseModel):
    model_config = ConfigDict(extra="allow")  # capabilities and the catalog card (see system.py)
    id: str
    object: str = "model"
    created: int
    owned_by: str


class ModelCardList(BaseModel):
    object: str = "list"
    data: list[ModelCard]


class CollectionInfo(BaseModel):
    name: str
    model: str
    dimension: int
    quantization: str
    ocr: bool
    created: float
    output: str = "dense"
    sparse: str = "bm25"
    count: int | None = None
    disk_bytes: int | None = None


class CollectionList(BaseModel):
    object: str = "list"
    data: list[CollectionInfo]


class Deleted(BaseModel):
    deleted: str


class Added(BaseModel):
    added: list[str]
    count: int


class SearchHit(BaseModel):
    id: str
    score: float
    modality: str
    metadata: dict[str, Any]
    text: str | None = None
    rerank_score: float | None = Field(default=None, description="the reranker's score (search with rerank)")


class SearchResponse(BaseModel):
    object: str = "search"
    mode: str
    hits: list[SearchHit]


ROUTES: dict[tuple[str, str], type[BaseModel]] = {
    ("get", "/health"): HealthResponse,
    ("get", "/ready"): ReadyResponse,
    ("get", "/v1/models"): ModelCardList,
    ("get", "/v1/models/{model_id}"): ModelCard,
    ("post", "/v1/embeddings"): OpenAIEmbeddingList,
    ("post", "/v2/embed"): CohereEmbedResponse,
    ("post", "/v1/embed"): CohereEmbedResponse,
    ("post", "/v1/score"): ScoreResponse,
    ("post", "/pooling"): PoolingResponse,
    ("post", "/v1/classify"): ClassifyResponse,
    ("post", "/v1/embeddings/text"): LlamaStackEmbedding,
    ("post", "/v1/embeddings/image"): LlamaStackEmbedding,
    ("post", "/api/predict/nlp"): SambaResponse,
    ("post", "/api/predict/file"): SambaResponse,
    ("post", "/v1/embeddings/video"): VideoEmbeddingResponse,
    ("post", "/v1/embeddings/audio"): OpenAIEmbeddingList,
    ("get", "/v1/collections"): CollectionList,
    ("post", "/v1/collections"): CollectionInfo,
    ("get", "/v1/collections/{name}"): CollectionInfo,
    ("delete", "/v1/collections/{name}"): Deleted,
    ("post", "/v1/collections/{name}/items"): Added,
    ("delete", "/v1/collections/{name}/items/{item_id}"): Deleted,
    ("post", "/v1/collections/{name}/search"): SearchResponse,
    ("post", "/embeddings"): InfinityOrMesEmbeddings,
    ("post", "/embeddings_image"): InfinityEmbeddingList,
    ("post", "/embeddings_audio"): InfinityEmbeddingList,
}


def type_responses(app: FastAPI) -> None:
    """Wrap `app.openapi` so that the listed routes' success responses get their schemas."""
    build = app.openapi
    filled: list[int] = []  # ids of the (cached) schemas already filled

    def typed() -> dict[str, Any]:
        schema = build()
        if id(schema) not in filled:
            _fill(schema)
            filled.append(id(schema))
        return schema

    app.openapi = typed  # type: ignore[method-assign]


def _fill(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for (method, path), model in ROUTES.items():
        operation = schema.get("paths", {}).get(path, {}).get(method)
        if operation is None:
            continue
        success = next(
            (r for code, r in operation.get("responses", {}).items() if code.startswith("2")), None
        )
        content = success.setdefault("content", {}).setdefault("application/json", {}) if success else None
        if content is None or content.get("schema"):
            continue
        model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in model_schema.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components.setdefault(model.__name__, model_schema)
        content["schema"] = {"$ref": f"#/components/schemas/{model.__name__}"}

"""Collections: embed items with the engine, add sparse terms (BM25 or a learned model's; and OCR
text), store, and search.

The retrieval layer sits on the engine (never the reverse): items become the engine's neutral
items, queries are embedded with the collection's own model, and the store does the rest.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from omniembed.engine.engine import Engine
from omniembed.engine.items import (
    AudioInput,
    ImageInput,
    InterleavedInput,
    Item,
    Part,
    TextInput,
    VideoInput,
)
from omniembed.errors import CapabilityError, InvalidInputError, NotFoundError
from omniembed.media.fetch import fetch_media
from omniembed.media.images import ImageLimits, decode_cost, decode_image
from omniembed.media.payload import MediaReference
from omniembed.retrieval import ocr, thumbnails
from omniembed.retrieval import payload as checks
from omniembed.retrieval.rerank import RerankStage, rerank_hits, rerank_stage
from omniembed.retrieval.schema import (
    CollectionConfig,
    Hit,
    ItemModality,
    ItemPage,
    SearchMode,
    StoredPoint,
    StoreQuery,
)
from omniembed.retrieval.store import VectorStore
from omniembed.retrieval.vectors import (
    QueryVectors,
    bm25_document,
    bm25_query,
    check_models,
    embed_items,
    embed_query,
    sparse_documents,
    sparse_query,
)

__all__ = ["CollectionItem", "CollectionService", "bm25_document", "bm25_query"]

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # always fullmatch: '$' lets a final newline in
QUANTIZATIONS = ("none", "int8", "binary")
MODES = ("dense", "keyword", "hybrid")
MODALITIES = ("text", "image", "video", "audio")
MAX_PAGE_ITEMS = 1_000  # items per listing page, and ids per bulk delete


@dataclass(frozen=True)
class CollectionItem:
    id: str
    modality: ItemModality
    text: str | None = None
    media: MediaReference | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    extra_payload: dict[str, Any] = field(default_factory=dict)


class CollectionService:
    def __init__(self, engine: Engine, store: VectorStore) -> None:
        self.engine = engine
        self.store = store

    def _config(self, name: str) -> CollectionConfig:
        config = self.store.config(name) if isinstance(name, str) and NAME.fullmatch(name) else None
        if config is None:
            raise NotFoundError(f"Collection '{name}' does not exist.", param="name")
        return config

    async def create(
        self,
        name: str,
        model: str | None,
        quantization: str = "none",
        use_ocr: bool = False,
        sparse: str = "bm25",
    ) -> CollectionConfig:
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise InvalidInputError(
                "Collection names are 1-64 letters, digits, '_', '-' or '.'.", param="name"
            )
        if quantization not in QUANTIZATIONS:
            raise InvalidInputError(
                f"quantization is one of {', '.join(QUANTIZATIONS)} (got {quantization!r}).",
                param="quantization",
            )
        spec = self.engine.runner(model).spec
        if not isinstance(sparse, str) or not sparse:
            raise InvalidInputError("sparse is 'bm25' or a served sparse model.", param="sparse")
        sparse_spec = self.engine.runner(sparse).spec if sparse != "bm25" else None
        check_models(spec, sparse_spec)
        if use_ocr:
            if "image" not in spec.modalities:
                raise CapabilityError(
                    f"OCR indexes images, and model '{spec.name}' embeds no images.", param="ocr"
                )
            await asyncio.to_thread(ocr.available)
        config = CollectionConfig(
            name=name,
            model=spec.name,
            dimension=spec.dimension,
            quantization=quantization,  # type: ignore[arg-type]
            ocr=use_ocr,
            output="multivector" if spec.output == "multivector" else "dense",
            sparse=sparse_spec.name if sparse_spec is not None else "bm25",
        )
        await asyncio.to_thread(self.store.create, config)
        return config

    async def describe(self, name: str) -> tuple[CollectionConfig, int]:
        config = self._config(name)
        return config, await asyncio.to_thread(self.store.count, name)

    async def list_configs(self) -> list[CollectionConfig]:
        return await asyncio.to_thread(self.store.list_configs)

    async def disk_bytes(self, names: list[str]) -> list[int | None]:
        """Each collection's bytes on disk (the embedded store), or None (a Qdrant server: see
        server_store.py). A name no longer there (dropped meanwhile) is not an error here."""
        return await asyncio.to_thread(lambda: [self.store.disk_bytes(name) for name in names])

    async def list_items(
        self, name: str, limit: int = 50, offset: str | None = None, modalities: tuple[str, ...] = ()
    ) -> ItemPage:
        """A page of items in a stable order; `offset` is the previous page's `next_offset`."""
        self._config(name)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_ITEMS:
            raise InvalidInputError(f"limit is an integer from 1 to {MAX_PAGE_ITEMS}.", param="limit")
        _check_search(1, "dense", modalities)
        return await asyncio.to_thread(
            self.store.scroll, name, limit, _cursor(offset), tuple(dict.fromkeys(modalities))
        )

    async def drop(self, name: str) -> None:
        self._config(name)
        await asyncio.to_thread(self.store.drop, name)

    async def delete_items(self, name: str, ids: list[str]) -> None:
        self._config(name)
        if not ids or len(ids) > MAX_PAGE_ITEMS:
            raise InvalidInputError(f"Give 1 to {MAX_PAGE_ITEMS} ids to delete.", param="ids")
        ids = [checks.item_id(item, f"ids[{index}]") for index, item in enumerate(ids)]
        await asyncio.to_thread(self.store.delete, name, ids)

    async def delete_where(self, name: str, key: str, value: str) -> None:
        self._config(name)
        await asyncio.to_thread(self.store.delete_where, name, key, value)

    async def retrieve(self, name: str, ids: list[str], with_vectors: bool = True) -> list[StoredPoint]:
        self._config(name)
        ids = [checks.item_id(item, "id") for item in ids]
        return await asyncio.to_thread(self.store.retrieve, name, ids, with_vectors)

    def _check_model(self, config: CollectionConfig, model: str | None) -> None:
        if model is None:
            return
        if self.engine.runner(model).spec.name != config.model:
            raise InvalidInputError(
                f"Collection '{config.name}' holds {config.model} embeddings ({config.dimension}-d); "
                f"items cannot be embedded with '{model}'.",
                param="model",
            )

    def _check_query_kinds(self, config: CollectionConfig, media: list[Part]) -> None:
        # Said here in the query's own words: the engine reads a video as frames (images).
        spec = self.engine.runner(config.model).spec
        embeds = spec.capabilities()["modalities"]
        for part in media:
            kind = {ImageInput: "image", AudioInput: "audio", VideoInput: "video"}[type(part)]
            if kind not in embeds:
                raise CapabilityError(
                    f"Collection '{config.name}' holds {spec.name} embeddings, which embeds no {kind}s "
                    f"(it embeds {', '.join(embeds)}).",
                    param=f"query.{kind}",
                )

    async def add(self, name: str, items: list[CollectionItem], model: str | None = None) -> list[str]:
        config = self._config(name)
        self._check_model(config, model)
        if not items:
            raise InvalidInputError("No items to add.", param="items")
        items = [_checked(item, f"items[{index}]") for index, item in enumerate(items)]
        if len({item.id for item in items}) != len(items):
            raise InvalidInputError("Item ids must be unique within a request.", param="items")
        items = [await self._with_bytes(item) for item in items]
        # Thumbnails decode on the pool while the model runs.
        embedded, previews = await asyncio.gather(
            embed_items(self.engine, config, [_neutral(item) for item in items]),
            thumbnails.for_items(self.engine, items),
        )
        ocr_texts = await self._ocr(config, items)
        searchable = [item.text or ocr_texts.get(index) or "" for index, item in enumerate(items)]
        sparse = await sparse_documents(self.engine, config, searchable)
        points = []
        for index, item in enumerate(items):
            payload = {
                "id": item.id,
                "modality": item.modality,
                "metadata": item.metadata,
                **item.extra_payload,
            }
            if item.text is not None:
                payload["text"] = item.text
            if index in ocr_texts:
                payload["ocr_text"] = ocr_texts[index]
            if index in previews:
                payload[thumbnails.PAYLOAD_KEY] = previews[index]
            multivector = embedded.multivectors[index] if embedded.multivectors is not None else None
            points.append(
                StoredPoint(
                    id=item.id,
                    vector=embedded.dense[index],
                    sparse=sparse[index],
                    payload=payload,
                    multivector=multivector,
                )
            )
        await asyncio.to_thread(self.store.upsert, name, points)
        return [item.id for item in items]

    async def _with_bytes(self, item: CollectionItem) -> CollectionItem:
        """Fetch URL media once, so OCR and the embedding read the same bytes."""
        if item.media is None or item.media.url is None:
            return item
        data = await fetch_media(item.media.url, self.engine.policy.fetch)
        return dataclasses.replace(item, media=MediaReference(data=data))

    async def _ocr(self, config: CollectionConfig, items: list[CollectionItem]) -> dict[int, str]:
        if not config.ocr:
            return {}
        found: dict[int, str] = {}
        limits, budget = self.engine.policy.image_limits, self.engine.decode_budget
        for index, item in enumerate(items):
            if item.modality == "image" and item.media is not None and item.media.data is not None:
                data = item.media.data
                # Off the event loop and within the decode-memory budget, like the engine's images.
                read = functools.partial(_read_text, data, limits)
                found[index] = await budget.run(self.engine.pool, decode_cost(data, limits, None), read)
        return found

    async def search(
        self,
        name: str,
        *,
        text: str | None = None,
        image: MediaReference | None = None,
        top_k: int = 10,
        mode: SearchMode = "hybrid",
        filter: dict[str, Any] | None = None,
        modalities: tuple[str, ...] = (),
        audio: MediaReference | None = None,
        exact: bool = False,
        candidates: int | None = None,
        rerank: RerankStage | None = None,
        video: MediaReference | None = None,
    ) -> list[Hit]:
        """`exact`: exhaustive search (MaxSim over every item in a multi-vector collection);
        `candidates`: first-stage hits MaxSim re-scores (default 10 x top_k); `rerank`: a served
        reranker reads the first `rerank.candidates` hits again (retrieval/rerank.py)."""
        config = self._config(name)
        text = checks.text(text, "query.text") if text is not None else None
        wanted = checks.filter_conditions(filter)
        _check_search(top_k, mode, modalities)
        checks.candidates(candidates)
        rerank = rerank_stage(rerank)
        media: list[Part] = [ImageInput(reference=image)] if image else []
        media += [AudioInput(reference=audio)] if audio else []
        media += [VideoInput(video)] if video else []
        if not text and not media:
            raise InvalidInputError("Give a query text, image, audio or video (or several).", param="query")
        if mode == "keyword" and not text:
            raise InvalidInputError("Keyword search needs a query text.", param="mode")
        if rerank is not None and not text:
            raise InvalidInputError("Reranking reads the query text; give one.", param="rerank")
        vectors = QueryVectors(dense=None)
        if mode != "keyword":
            self._check_query_kinds(config, media)
            parts: list[Part] = [TextInput(text)] if text else []
            parts += media
            query_item: Item = parts[0] if len(parts) == 1 else InterleavedInput(tuple(parts))
            vectors = await embed_query(self.engine, config, query_item)
        kept = top_k
        if rerank is not None:
            top_k, kept = rerank.first_stage(top_k, self.engine.policy.max_items_per_request)
        query = StoreQuery(
            dense=vectors.dense,
            sparse=await sparse_query(self.engine, config, text or "") if mode != "dense" else None,
            mode=mode,
            top_k=top_k,
            filter=wanted,
            modalities=tuple(dict.fromkeys(modalities)),
            exact=bool(exact),
            multivector=vectors.multivector,
            candidates=candidates,
        )
        hits = await asyncio.to_thread(self.store.search, name, query)
        return await rerank_hits(self.engine, text, hits, rerank, kept) if rerank is not None else hits


def _checked(item: CollectionItem, param: str) -> CollectionItem:
    """Fail before embedding anything: ids, text and metadata by the rules of payload.py."""
    if item.modality not in MODALITIES:
        raise InvalidInputError(f"{param}.modality is one of {', '.join(MODALITIES)}.", param=param)
    return dataclasses.replace(
        item,
        id=checks.item_id(item.id, f"{param}.id"),
        text=checks.text(item.text, f"{param}.text") if item.text is not None else None,
        metadata=checks.metadata(item.metadata, f"{param}.metadata"),
    )


def _check_search(top_k: object, mode: object, modalities: object) -> None:
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= checks.MAX_TOP_K:
        raise InvalidInputError(f"top_k is an integer from 1 to {checks.MAX_TOP_K}.", param="top_k")
    if mode not in MODES:
        raise InvalidInputError(f"mode is one of {', '.join(MODES)}.", param="mode")
    if not isinstance(modalities, tuple | list) or any(m not in MODALITIES for m in modalities):
        raise InvalidInputError(f"modality lists some of {', '.join(MODALITIES)}.", param="modality")


def _cursor(offset: object) -> str | None:
    """A listing cursor is a point id (a UUID) handed out by a previous page."""
    if offset is None:
        return None
    try:
        return str(uuid.UUID(str(offset)))
    except ValueError:
        raise InvalidInputError(
            "offset is the next_offset of a previous page of this listing.", param="offset"
        ) from None


def _neutral(item: CollectionItem) -> Item:
    if item.modality == "text":
        if not item.text or not item.text.strip():
            raise InvalidInputError(f"Item '{item.id}' has no text.", param="items")
        return TextInput(item.text)
    if item.media is None:
        raise InvalidInputError(f"Item '{item.id}' has no {item.modality}.", param="items")
    if item.modality == "video":
        return VideoInput(item.media)
    if item.modality == "audio":
        return AudioInput(reference=item.media)
    return ImageInput(reference=item.media)


def _read_text(data: bytes, limits: ImageLimits) -> str:
    return ocr.read_text(decode_image(data, limits))

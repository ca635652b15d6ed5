"""Cross-modal score matrices and zero-shot classification on top of `Engine.embed`.

Calibration follows each model: CLIP-style models turn cosines into logits with their trained
`logit_scale` and a softmax over candidates; SigLIP adds its `logit_bias` and uses a sigmoid per
pair. Models without a trained scale (text embedders) report cosines, and classification uses
`DEFAULT_LOGIT_SCALE` for its softmax.

Late-interaction models score by MaxSim (per query token, its best dot product over the document's
tokens, summed over the query's tokens) and learned-sparse models by the dot product of their sparse
vectors: raw scores, as their references compute them, never calibrated (no trained scale applies).
Queries are embedded as queries and documents as documents unless the request names other types.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from omniembed.engine.engine import Engine
from omniembed.engine.items import AudioInput, EmbedOptions, ImageInput, Item, TextInput, VideoInput
from omniembed.errors import CapabilityError, InvalidInputError, PayloadTooLargeError
from omniembed.models.base import ModelSpec, SparseVector

DEFAULT_LOGIT_SCALE = 20.0
IMAGE_TEMPLATES = ("a photo of a {}.",)
AUDIO_TEMPLATES = ("This is a sound of {}.",)  # CLAP's zero-shot audio classification prompt
TEXT_TEMPLATES = ("{}",)
LABEL_CACHE_SIZE = 256
# The cache also holds its keys' strings and its vectors: bounded by those too, or 256 entries of
# request-sized label lists (up to the body limit each) would keep gigabytes alive.
LABEL_CACHE_MAX_CHARS = 4_000_000
LABEL_CACHE_MAX_ROWS = 16_384


@dataclass
class ScoreResult:
    model: str
    similarities: np.ndarray
    logits: np.ndarray | None
    probabilities: np.ndarray | None
    activation: str | None
    prompt_tokens: int
    image_count: int
    query_tokens: list[int] = field(default_factory=list)  # per query item
    document_tokens: list[int] = field(default_factory=list)  # per document item
    metric: str = "cosine"  # or maxsim (late-interaction models), dot (learned-sparse models)


@dataclass
class ClassifyResult:
    model: str
    labels: tuple[str, ...]
    similarities: np.ndarray  # [inputs, labels]
    probabilities: np.ndarray  # [inputs, labels]
    calibrated: bool
    prompt_tokens: int
    multi_label: bool = False
    item_tokens: list[int] = field(default_factory=list)  # per input item (labels not included)

    def ranked(self) -> list[list[tuple[str, float, float]]]:
        """Per input, (label, probability, similarity) from the most to the least probable."""
        rows = []
        for similarities, probabilities in zip(self.similarities, self.probabilities, strict=True):
            order = sorted(range(len(self.labels)), key=lambda j: -float(probabilities[j]))
            rows.append([(self.labels[j], float(probabilities[j]), float(similarities[j])) for j in order])
        return rows

    def top_labels(self) -> list[str]:
        return [ranking[0][0] for ranking in self.ranked()]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))


def calibrate(spec: ModelSpec, similarities: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    if spec.logit_scale is None:
        return None, None
    logits = spec.logit_scale * similarities + (spec.logit_bias or 0.0)
    if spec.score_activation == "sigmoid":
        return logits, sigmoid(logits)
    return logits, softmax(logits)


def maxsim(queries: Sequence[np.ndarray], documents: Sequence[np.ndarray]) -> np.ndarray:
    """[queries, documents]: the sum over each query's tokens of its best dot product with the
    document's tokens. All queries' tokens meet each document in one product."""
    scores = np.zeros((len(queries), len(documents)), dtype=np.float32)
    stacked = np.concatenate([np.asarray(q, dtype=np.float32) for q in queries])
    bounds = np.cumsum([0, *(len(q) for q in queries)])
    for column, document in enumerate(documents):
        if len(document) == 0 or len(stacked) == 0:
            continue  # nothing to match: the score stays 0
        best = (stacked @ np.asarray(document, dtype=np.float32).T).max(axis=1)
        running = np.concatenate([[0.0], np.cumsum(best, dtype=np.float64)])
        scores[:, column] = running[bounds[1:]] - running[bounds[:-1]]
    return scores


def sparse_dot(queries: Sequence[SparseVector], documents: Sequence[SparseVector]) -> np.ndarray:
    """[queries, documents]: dot products over the vocabulary ids both vectors hold."""
    scores = np.zeros((len(queries), len(documents)), dtype=np.float32)
    for row, query in enumerate(queries):
        for column, document in enumerate(documents):
            _, mine, theirs = np.intersect1d(
                query.indices, document.indices, assume_unique=True, return_indices=True
            )
            scores[row, column] = np.dot(
                query.values[mine].astype(np.float64), document.values[theirs].astype(np.float64)
            )
    return scores


def check_one_vector(spec: ModelSpec) -> None:
    """Zero-shot classification compares one vector per input with label vectors."""
    if spec.output == "dense" or (spec.output == "multivector" and spec.pooling is not None):
        return
    raise CapabilityError(
        f"Model '{spec.name}' gives {spec.output} output, not one vector per item: zero-shot "
        "classification does not apply. Score the labels as documents with /v1/score instead.",
        param="model",
    )


def check_count(count: int, limit: int, param: str) -> None:
    if count == 0:
        raise InvalidInputError("The input is empty; send at least one item.", param=param)
    if count > limit:
        raise PayloadTooLargeError(f"{count} items in one request; the limit is {limit}.", param=param)


def check_labels(
    labels: Sequence[str], templates: Sequence[str], *, max_text_chars: int, max_items: int
) -> None:
    """Labels are non-empty, fit in their templates, and labels x templates fit one request."""
    check_count(len(labels), max_items, "labels")
    if any(not isinstance(label, str) or not label.strip() for label in labels):
        raise InvalidInputError("Labels must be non-empty strings.", param="labels")
    longest = max(map(len, labels)) + max((len(t) - 2 for t in templates), default=0)
    if longest > max_text_chars:
        raise PayloadTooLargeError(
            f"A label in a template makes a prompt of {longest} characters; the limit is {max_text_chars}.",
            param="templates",
        )
    # Every label is embedded once per template: the product is what the engine is asked for.
    prompts = len(labels) * max(1, len(templates))
    if prompts > max_items:
        raise PayloadTooLargeError(
            f"{len(labels)} labels x {len(templates)} templates make {prompts} prompts; "
            f"the limit is {max_items}.",
            param="templates",
        )
    for template in templates:
        if template.count("{}") != 1:
            raise InvalidInputError(
                f"Template {template!r} must contain exactly one '{{}}'.", param="templates"
            )


def _key_chars(key: tuple[str, tuple[str, ...], tuple[str, ...]]) -> int:
    return sum(map(len, key[1])) + sum(map(len, key[2]))


def default_templates(items: Sequence[Item]) -> tuple[str, ...]:
    """The zero-shot prompt for what is being classified: photos, sounds, or texts as they are."""
    if all(isinstance(item, ImageInput | VideoInput) for item in items):
        return IMAGE_TEMPLATES
    if all(isinstance(item, AudioInput) for item in items):
        return AUDIO_TEMPLATES
    return TEXT_TEMPLATES


class Scoring:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._labels: OrderedDict[tuple[str, tuple[str, ...], tuple[str, ...]], np.ndarray] = OrderedDict()
        self.label_cache_hits = 0
        self._cached_chars = 0
        self._cached_rows = 0

    async def score(
        self,
        model: str | None,
        queries: Sequence[Item],
        documents: Sequence[Item],
        *,
        query_type: str | None = None,
        document_type: str | None = None,
    ) -> ScoreResult:
        spec = self.engine.runner(model).spec
        check_count(len(queries), self.engine.policy.max_items_per_request, "queries")
        check_count(len(documents), self.engine.policy.max_items_per_request, "documents")
        if spec.output != "dense":
            return await self._late_score(spec, queries, documents, query_type, document_type)
        left, right = await asyncio.gather(
            self.engine.embed(spec.name, queries, EmbedOptions(normalize=True, input_type=query_type)),
            self.engine.embed(spec.name, documents, EmbedOptions(normalize=True, input_type=document_type)),
        )
        similarities = left.embeddings @ right.embeddings.T
        logits, probabilities = calibrate(spec, similarities)
        return ScoreResult(
            model=spec.name,
            similarities=similarities,
            logits=logits,
            probabilities=probabilities,
            activation=spec.score_activation if logits is not None else None,
            prompt_tokens=left.prompt_tokens + right.prompt_tokens,
            image_count=left.image_count + right.image_count,
            query_tokens=left.item_tokens,
            document_tokens=right.item_tokens,
        )

    async def _late_score(
        self,
        spec: ModelSpec,
        queries: Sequence[Item],
        documents: Sequence[Item],
        query_type: str | None,
        document_type: str | None,
    ) -> ScoreResult:
        """MaxSim or sparse dot products: each side embedded for its task, as the reference's
        encode_query / encode_document would."""
        kind = spec.output
        left, right = await asyncio.gather(
            self.engine.embed(
                spec.name, queries, EmbedOptions(input_type=query_type or "search_query", output=kind)
            ),
            self.engine.embed(
                spec.name, documents, EmbedOptions(input_type=document_type or "search_document", output=kind)
            ),
        )
        if kind == "multivector":
            assert left.multivectors is not None and right.multivectors is not None
            similarities = await asyncio.to_thread(maxsim, left.multivectors, right.multivectors)
        else:
            assert left.sparse is not None and right.sparse is not None
            similarities = await asyncio.to_thread(sparse_dot, left.sparse, right.sparse)
        return ScoreResult(
            model=spec.name,
            similarities=similarities,
            logits=None,
            probabilities=None,
            activation=None,
            prompt_tokens=left.prompt_tokens + right.prompt_tokens,
            image_count=left.image_count + right.image_count,
            query_tokens=left.item_tokens,
            document_tokens=right.item_tokens,
            metric="maxsim" if kind == "multivector" else "dot",
        )

    async def label_vectors(
        self, model: str, labels: tuple[str, ...], templates: tuple[str, ...]
    ) -> tuple[np.ndarray, int]:
        """Normalized mean over templates of each label's normalized embedding (cached)."""
        key = (model, labels, templates)
        cached = self._labels.get(key)
        if cached is not None:
            self._labels.move_to_end(key)
            self.label_cache_hits += 1
            return cached, 0
        # `{}` is the only placeholder: str.format would also honour field names, indexes and
        # format specs ("{:>1000000000}" pads a label to a gigabyte).
        prompts = [TextInput(template.replace("{}", label)) for label in labels for template in templates]
        result = await self.engine.embed(model, prompts, EmbedOptions(normalize=True))
        grouped = result.embeddings.reshape(len(labels), len(templates), -1).mean(axis=1)
        vectors = grouped / np.linalg.norm(grouped, axis=-1, keepdims=True)
        self._remember(key, vectors)
        return vectors, result.prompt_tokens

    def _remember(self, key: tuple[str, tuple[str, ...], tuple[str, ...]], vectors: np.ndarray) -> None:
        chars = _key_chars(key)
        if chars > LABEL_CACHE_MAX_CHARS // 4 or len(vectors) > LABEL_CACHE_MAX_ROWS // 4:
            return  # one request's labels may not take over the cache
        previous = self._labels.pop(key, None)  # two concurrent misses on the same labels
        if previous is not None:
            self._cached_chars -= chars
            self._cached_rows -= len(previous)
        self._labels[key] = vectors
        self._cached_chars += chars
        self._cached_rows += len(vectors)
        while (
            len(self._labels) > LABEL_CACHE_SIZE
            or self._cached_chars > LABEL_CACHE_MAX_CHARS
            or self._cached_rows > LABEL_CACHE_MAX_ROWS
        ):
            old_key, old_vectors = self._labels.popitem(last=False)
            self._cached_chars -= _key_chars(old_key)
            self._cached_rows -= len(old_vectors)

    async def classify(
        self,
        model: str | None,
        inputs: Sequence[Item],
        labels: Sequence[str],
        *,
        templates: Sequence[str] | None = None,
        multi_label: bool = False,
    ) -> ClassifyResult:
        spec = self.engine.runner(model).spec
        check_one_vector(spec)
        policy = self.engine.policy
        check_count(len(inputs), policy.max_items_per_request, "inputs")
        check_labels(
            labels,
            templates or (),
            max_text_chars=policy.max_text_chars,
            max_items=policy.max_items_per_request,
        )
        chosen = tuple(templates) if templates else default_templates(inputs)
        label_matrix, label_tokens = await self.label_vectors(spec.name, tuple(labels), chosen)
        embedded = await self.engine.embed(spec.name, inputs, EmbedOptions(normalize=True))
        similarities = embedded.embeddings @ label_matrix.T
        scale = spec.logit_scale or DEFAULT_LOGIT_SCALE
        if spec.score_activation == "sigmoid" and spec.logit_bias is not None:
            probabilities = sigmoid(scale * similarities + spec.logit_bias)
        elif multi_label:
            # No trained bias: a label counts as present when it beats this input's mean label score.
            probabilities = sigmoid(scale * (similarities - similarities.mean(axis=1, keepdims=True)))
        else:
            probabilities = softmax(scale * similarities)
        return ClassifyResult(
            model=spec.name,
            labels=tuple(labels),
            similarities=similarities,
            probabilities=probabilities,
            calibrated=spec.logit_scale is not None,
            prompt_tokens=embedded.prompt_tokens + label_tokens,
            multi_label=multi_label,
            item_tokens=embedded.item_tokens,
        )

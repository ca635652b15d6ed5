"""The Python API: `Embedder("model").embed_texts([...])`.

It runs the very same engine as the server (adapters, batching, post-processing) on a private
event loop in a background thread, so it also works inside notebooks that already run a loop.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from omniembed.engine.bootstrap import engine_from_settings, load_models
from omniembed.engine.engine import Engine
from omniembed.engine.items import (
    AudioInput,
    ChatInput,
    EmbedOptions,
    EmbedResult,
    ImageInput,
    InterleavedInput,
    Item,
    Message,
    Part,
    TextInput,
    VideoInput,
    VideoOptions,
)
from omniembed.engine.scoring import ClassifyResult, ScoreResult, Scoring
from omniembed.media.payload import MediaReference
from omniembed.models.base import AudioClip, ModelSpec, Truncation
from omniembed.settings import DEFAULT_MODEL, Settings

T = TypeVar("T")
ImageLike = Image.Image | bytes | str | Path


def _image_input(value: ImageLike) -> ImageInput:
    if isinstance(value, Image.Image):
        return ImageInput(image=value)
    if isinstance(value, bytes):
        return ImageInput(reference=MediaReference(data=value))
    text = str(value)
    if text.startswith(("http://", "https://")):
        return ImageInput(reference=MediaReference(url=text))
    return ImageInput(reference=MediaReference(data=Path(text).read_bytes()))


def _audio_input(value: bytes | str | Path | AudioClip) -> AudioInput:
    if isinstance(value, AudioClip):
        return AudioInput(clip=value)
    data = value if isinstance(value, bytes) else Path(value).read_bytes()
    return AudioInput(reference=MediaReference(data=data))


def _part(value: Item | ImageLike) -> Part:
    item = _item(value)
    if isinstance(item, InterleavedInput | ChatInput):
        raise TypeError("A chat message's parts are texts, images, videos or audio, not whole items.")
    return item


def _item(value: Item | ImageLike) -> Item:
    if isinstance(value, TextInput | ImageInput | VideoInput | AudioInput | InterleavedInput | ChatInput):
        return value
    if isinstance(value, str):
        return TextInput(value)
    return _image_input(value)


class Embedder:
    """Embed texts, images, videos, audio and conversations in-process.

    >>> embedder = Embedder("omniembed/starter")
    >>> embedder.embed_texts(["a photo of a cat"]).shape
    (1, 384)
    """

    def __init__(self, model: str = DEFAULT_MODEL, *, settings: Settings | None = None, **overrides: Any):
        if settings is None:
            self.settings = Settings(models=[model], **overrides)
        else:
            self.settings = Settings.model_validate({**settings.model_dump(), "models": [model], **overrides})
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="omniembed-loop", daemon=True)
        self._thread.start()
        try:
            self.engine: Engine = self._run(self._start())
        except BaseException:
            self.close()
            raise
        self.model = self.engine.names()[0]
        self.scoring = Scoring(self.engine)  # label vectors are cached per (labels, templates)
        # Close the engine and its loop even if the caller forgets to (at exit or collection).
        self._finalizer = weakref.finalize(self, _shutdown, self._loop, self._thread, self.engine)

    async def _start(self) -> Engine:
        engine = engine_from_settings(self.settings)
        await load_models(engine, self.settings)
        return engine

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine that uses `self.engine` on the embedder's own event loop."""
        return self._run(coroutine)

    @property
    def spec(self) -> ModelSpec:
        return self.engine.runner(self.model).spec

    @property
    def dimension(self) -> int:
        return self.spec.dimension

    def embed(self, items: Sequence[Item], **options: Any) -> EmbedResult:
        return self._run(self.engine.embed(self.model, list(items), _options(**options)))

    def embed_texts(self, texts: Sequence[str] | str, **options: Any) -> np.ndarray:
        batch = [texts] if isinstance(texts, str) else list(texts)
        return self.embed([TextInput(text) for text in batch], **options).embeddings

    def embed_images(self, images: Sequence[ImageLike] | ImageLike, **options: Any) -> np.ndarray:
        batch: list[ImageLike] = list(images) if isinstance(images, list | tuple) else [images]  # type: ignore[list-item]
        return self.embed([_image_input(image) for image in batch], **options).embeddings

    def embed_videos(
        self,
        videos: Sequence[bytes | str | Path],
        *,
        num_frames: int | None = None,
        fps: float | None = None,
        **options: Any,
    ) -> np.ndarray:
        items: list[Item] = []
        for video in videos:
            data = video if isinstance(video, bytes) else Path(video).read_bytes()
            items.append(VideoInput(MediaReference(data=data), VideoOptions(num_frames=num_frames, fps=fps)))
        return self.embed(items, **options).embeddings

    def embed_audio(self, clips: Sequence[bytes | str | Path | AudioClip], **options: Any) -> np.ndarray:
        """Sound files (bytes or paths, any format the server takes) or decoded samples (AudioClip,
        resampled to the model's rate)."""
        return self.embed([_audio_input(clip) for clip in clips], **options).embeddings

    def embed_chat(
        self, messages: Sequence[tuple[str, Sequence[Item | ImageLike]]], **options: Any
    ) -> np.ndarray:
        """One conversation, `[(role, parts), ...]`, as one vector (a VLM embedder reads it through
        its chat template; a two-tower model averages its parts)."""
        turns = tuple(Message(role, tuple(_part(value) for value in parts)) for role, parts in messages)
        return self.embed([ChatInput(turns)], **options).embeddings

    def score(
        self,
        queries: Sequence[Item | ImageLike],
        documents: Sequence[Item | ImageLike],
        *,
        query_input_type: str | None = None,
        document_input_type: str | None = None,
    ) -> ScoreResult:
        """`/v1/score` in-process: the [queries, documents] cosine matrix, plus calibrated logits and
        probabilities where the model has them. A `str` is a text; PIL images, bytes and Paths are
        images; engine items (TextInput, ImageInput, VideoInput, InterleavedInput) pass as they are."""
        left, right = [_item(value) for value in queries], [_item(value) for value in documents]
        return self._run(
            self.scoring.score(
                self.model, left, right, query_type=query_input_type, document_type=document_input_type
            )
        )

    def classify(
        self,
        inputs: Sequence[Item | ImageLike],
        labels: Sequence[str],
        *,
        templates: Sequence[str] | None = None,
        multi_label: bool = False,
    ) -> ClassifyResult:
        """`/v1/classify` in-process: zero-shot label probabilities per input (`result.ranked()`
        orders them as the route does; `result.top_labels()` is each input's best label)."""
        items = [_item(value) for value in inputs]
        call = self.scoring.classify(
            self.model, items, list(labels), templates=templates, multi_label=multi_label
        )
        return self._run(call)

    def close(self) -> None:
        finalizer = getattr(self, "_finalizer", None)
        if finalizer is not None:
            finalizer()
        else:
            _shutdown(self._loop, self._thread, None)

    def __enter__(self) -> Embedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _shutdown(loop: asyncio.AbstractEventLoop, thread: threading.Thread, engine: Engine | None) -> None:
    if loop.is_closed():
        return
    if engine is not None and loop.is_running():
        asyncio.run_coroutine_threadsafe(engine.close(), loop).result(timeout=30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.close()


def _options(*, truncation: str | Truncation = Truncation.END, **options: Any) -> EmbedOptions:
    """Keyword options are EmbedOptions' fields (normalize, dimensions, input_type, output, ...)."""
    return EmbedOptions(truncation=Truncation(truncation), **options)

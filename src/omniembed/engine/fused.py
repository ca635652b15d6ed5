"""Items for a model with one fused tower (sentence-transformers multimodal models, VLM embedders).

Each item's parts are decoded into what the model's processor takes (text, RGB images scaled to the
visual budget, a video's sampled frames with their rate, sound at the model's rate), then the tower
pre-processes the item on a CPU thread into one feature whose cost is its real token count. A model
that reads interleaved content gets the whole item as one feature (a chat item as its turns); other
models get one feature per part and the item is the normalized mean of its parts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from PIL import Image

from omniembed.engine.items import (
    AudioInput,
    ChatInput,
    EmbedOptions,
    ImageInput,
    InterleavedInput,
    Item,
    Part,
    TextInput,
    VideoInput,
)
from omniembed.engine.media_inputs import MediaInputs, shrink
from omniembed.engine.outputs import task_of
from omniembed.engine.postprocess import fuse
from omniembed.engine.runner import ModelRunner, awaited
from omniembed.errors import CapabilityError
from omniembed.models.base import FusedTower, ModelPart, PartKind, Turn, VideoClip

KINDS: dict[type, PartKind] = {
    TextInput: "text",
    ImageInput: "image",
    VideoInput: "video",
    AudioInput: "audio",
}


def item_parts(item: Item) -> list[Part]:
    if isinstance(item, InterleavedInput):
        return list(item.parts)
    if isinstance(item, ChatInput):
        return [part for message in item.messages for part in message.parts]
    return [item]


class FusedItems:
    """Embeds a request's items on a runner whose adapter has a fused tower."""

    def __init__(self, media: MediaInputs, runner: ModelRunner) -> None:
        self.media = media
        self.runner = runner
        tower = runner.adapter.fused
        assert tower is not None
        self.tower: FusedTower = tower
        self.native = runner.spec.interleaved == "native"

    def check(self, items: Sequence[Item]) -> None:
        for item in items:
            for part in item_parts(item):
                kind = KINDS[type(part)]
                if kind not in self.tower.accepts:
                    supported = ", ".join(self.runner.spec.modalities)
                    raise CapabilityError(
                        f"Model '{self.runner.spec.name}' cannot embed {kind} inputs "
                        f"(it supports: {supported}).",
                        param="input",
                    )

    async def embed(
        self, items: Sequence[Item], options: EmbedOptions, prompt: str | None
    ) -> tuple[list[Any], list[int]]:
        """One row per item (a vector, a matrix or a sparse vector: the model's output kind), and
        each item's tokens (text, visual and audio tokens together)."""
        self.check(items)
        if self.native or self.runner.spec.output != "dense":
            if not self.native and any(len(item_parts(item)) > 1 for item in items):
                raise CapabilityError(
                    f"Model '{self.runner.spec.name}' embeds one part per item ({self.runner.spec.output} "
                    "output cannot be averaged); send the parts as separate inputs.",
                    param="input",
                )
            inputs = await awaited([self._native_input(item) for item in items])
            features = await awaited([self._preprocess(parts, options, prompt) for parts in inputs])
            rows = await self.runner.run("fused", features)
            return rows, [self.tower.tokens(feature) for feature in features]
        groups = [item_parts(item) for item in items]
        flat = [part for group in groups for part in group]
        decoded = await awaited([self.model_part(part) for part in flat])
        features = await awaited([self._preprocess([part], options, prompt) for part in decoded])
        rows = await self.runner.run("fused", features)
        vectors, tokens, cursor = [], [], 0
        for group in groups:
            chunk = rows[cursor : cursor + len(group)]
            vectors.append(chunk[0] if len(chunk) == 1 else fuse(chunk))
            tokens.append(sum(self.tower.tokens(f) for f in features[cursor : cursor + len(group)]))
            cursor += len(group)
        return vectors, tokens

    async def _preprocess(
        self, parts: Sequence[ModelPart] | Sequence[Turn], options: EmbedOptions, prompt: str | None
    ) -> Any:
        loop = asyncio.get_running_loop()
        task = task_of(options.input_type)
        return await loop.run_in_executor(
            self.media.pool,
            self.tower.preprocess,
            parts,
            prompt,
            options.truncation,
            options.max_tokens,
            task,
        )

    async def _native_input(self, item: Item) -> list[ModelPart] | list[Turn]:
        if isinstance(item, ChatInput):
            turns = []
            for message in item.messages:
                parts = await awaited([self.model_part(part) for part in message.parts])
                turns.append(Turn(message.role, tuple(parts)))
            return turns
        return list(await awaited([self.model_part(part) for part in item_parts(item)]))

    async def model_part(self, part: Part) -> ModelPart:
        policy = self.media.policy
        if isinstance(part, TextInput):
            return part.text
        if isinstance(part, ImageInput):
            image: Image.Image = await self.media.image(
                part, lambda image, fast: shrink(image, policy.visual_max_pixels)
            )
            return image
        if isinstance(part, VideoInput):
            decoded = await self.media.video(part, lambda frame: shrink(frame, policy.frame_max_pixels))
            stamps = decoded.timestamps
            rate = part.options.fps or (len(stamps) / decoded.duration_s if decoded.duration_s > 0 else 1.0)
            return VideoClip(frames=list(decoded.frames), timestamps=stamps, fps=rate)
        rate = self.runner.spec.audio_sample_rate or 16_000
        return await self.media.audio(part, rate)

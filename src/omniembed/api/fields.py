"""Bounded field types shared by the request schemas of every route.

Texts are checked against `max_text_chars` while the body is validated (the limit comes in the
validation context, see `body.py`), so a giant string is refused before any tokenizing or other
work; the engine checks again for callers that do not come through a schema. Names and numbers
get static bounds; floats refuse NaN and infinities (also when they arrive as strings such as
"inf" in a multipart form).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo
from pydantic_core import PydanticCustomError

from omniembed.media.video import MAX_FPS, MAX_NUM_FRAMES
from omniembed.settings import Settings

TEXT_LIMIT = "max_text_chars"  # key of the validation context holding the configured limit
TEXT_TOO_LONG = "text_too_long"  # error type that body.py turns into a 413
DEFAULT_MAX_TEXT_CHARS: int = Settings.model_fields["max_text_chars"].default
MAX_NAME_CHARS = 256
MAX_DIMENSIONS = 65_536
MAX_TOKENS = 1_048_576


def _bounded_text(value: str, info: ValidationInfo) -> str:
    context = info.context
    limit = context.get(TEXT_LIMIT, DEFAULT_MAX_TEXT_CHARS) if isinstance(context, dict) else None
    limit = limit or DEFAULT_MAX_TEXT_CHARS
    if len(value) > limit:
        raise PydanticCustomError(
            TEXT_TOO_LONG,
            "Text of {length} characters; the limit is {limit}.",
            {"length": len(value), "limit": limit},
        )
    return value


# A text to embed (or a label, a template, a search query): at most `max_text_chars` characters.
Text = Annotated[str, AfterValidator(_bounded_text)]
# A model name, an input type, an ignored tag: short strings, echoed in error messages.
Name = Annotated[str, Field(max_length=MAX_NAME_CHARS)]
Fps = Annotated[float, Field(gt=0, le=MAX_FPS, allow_inf_nan=False)]
NumFrames = Annotated[int, Field(ge=1, le=MAX_NUM_FRAMES)]
Dimensions = Annotated[int, Field(ge=1, le=MAX_DIMENSIONS)]
MaxTokens = Annotated[int, Field(ge=1, le=MAX_TOKENS)]

"""Request schemas of `/v1/score` and `/v1/classify`; items use the shared content-part shapes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omniembed.api.content import ContentItem
from omniembed.api.fields import Name, Text


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an unknown field is a 400 naming it

    model: Name | None = None
    queries: list[ContentItem] = Field(description="texts, images, videos or interleaved items")
    documents: list[ContentItem] = Field(description="texts, images, videos or interleaved items")
    query_input_type: Name | None = Field(default=None, description="prompt for queries, e.g. query")
    document_input_type: Name | None = Field(default=None, description="prompt for documents, e.g. document")


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an unknown field is a 400 naming it

    model: Name | None = None
    inputs: list[ContentItem] = Field(description="images, texts, videos or interleaved items to classify")
    labels: list[Text] = Field(description="candidate labels")
    templates: list[Text] | None = Field(
        default=None,
        description="prompts with one '{}' for the label, ensembled by averaging normalized label vectors "
        "(default: 'a photo of a {}.' for media inputs, '{}' for text)",
    )
    multi_label: bool = Field(default=False, description="score labels independently instead of a softmax")

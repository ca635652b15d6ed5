"""The single settings model.

Values come, highest priority first, from CLI flags (passed as keyword arguments), environment
variables `OMNIEMBED_*` (plus the seed-compatible `EMBEDDING_*` names), then defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Device = Literal["auto", "cpu", "cuda"]
Runtime = Literal["auto", "torch", "onnx", "openvino"]
Precision = Literal["fp32", "bf16", "int8"]

DEFAULT_MODEL = "omniembed/starter"


def _split_list(value: Any) -> Any:
    """Accept a list, a JSON list, or a comma/newline separated string."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="OMNIEMBED_", extra="ignore", populate_by_name=True, validate_default=True
    )

    # What to serve -------------------------------------------------------------------------
    models: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        validation_alias=AliasChoices(
            "models", "OMNIEMBED_MODELS", "OMNIEMBED_MODEL", "EMBEDDING_MODEL_NAME"
        ),
        description="Catalog ids, hub ids or local directories; 'name=source' sets the served name.",
    )
    device: str = Field(
        default="auto", validation_alias=AliasChoices("device", "OMNIEMBED_DEVICE", "EMBEDDING_DEVICE")
    )
    runtime: Runtime = "auto"
    precision: Precision = "fp32"
    int8_min_cosine: float = Field(
        default=0.99,
        ge=0.0,
        le=1.0,
        description="OpenVINO int8: the worst cosine to the fp32 model allowed on the built-in probes; "
        "layers stay in fp32, rung by rung, until it is reached (0: quantize everything).",
    )
    openvino_streams: int = Field(
        default=0,
        ge=0,
        le=64,
        description="OpenVINO forward passes run at once per tower: 0 lets OpenVINO's throughput hint "
        "choose for this CPU (2 on a 2-core machine), 1 runs one pass over every core (lowest latency "
        "for a lone request), n runs n passes.",
    )
    use_openvino: bool = Field(
        default=False, validation_alias=AliasChoices("use_openvino", "EMBEDDING_USE_OV")
    )
    models_dir: Path = Field(
        default=Path.home() / ".cache" / "omniembed",
        validation_alias=AliasChoices("models_dir", "OMNIEMBED_MODELS_DIR", "EMBEDDING_OV_MODELS_DIR"),
        description="Where converted/compiled model artifacts and derived data are cached.",
    )
    revision: str | None = None
    trust_remote_code: bool = False
    model_options: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Per-model facts that override the catalog and the model's own files, as "
        "'name:key=value' (keys: is_matryoshka, matryoshka_dimensions); the environment variable "
        "separates entries with ';' or newlines (sizes use commas), or takes a JSON list.",
    )

    # HTTP -----------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    log_level: str = "info"
    log_format: Literal["json", "text"] = "json"
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Accepted API keys (kept hashed in memory); none = no auth."
    )
    api_key_file: Path | None = Field(default=None, description="File of API keys, one per line.")
    drain_seconds: float = Field(
        default=5.0,
        ge=0,
        description="After SIGTERM: /ready answers 503 this long before the listener closes.",
    )
    graceful_timeout_s: float = Field(
        default=30.0, gt=0, description="In-flight requests get this long to finish."
    )
    # Request heads are bounded before any of it reaches the app (431/414 JSON past them).
    max_url_bytes: int = Field(default=8192, ge=256, description="Longest request target (path+query).")
    max_header_bytes: int = Field(default=8192, ge=256, description="Longest header (name + value).")
    max_header_total_bytes: int = Field(default=32768, ge=1024, description="All headers together.")
    max_header_count: int = Field(default=100, ge=8, description="Most headers in one request.")

    # Engine ---------------------------------------------------------------------------------
    max_batch_tokens: int = Field(default=16384, ge=1, description="Padded token budget of one text batch.")
    max_batch_images: int = Field(default=32, ge=1, description="Images in one image-tower batch.")
    batch_wait_ms: float = Field(
        default=2.0,
        ge=0,
        description="Longest an idle batcher waits for company (less once the last pass's worth waits).",
    )
    max_queue_items: int = Field(default=2048, ge=1, description="Admitted, unfinished items per model.")
    preprocess_threads: int = Field(default=0, ge=0, description="0 = one per CPU core.")

    # Inputs ---------------------------------------------------------------------------------
    max_items_per_request: int = Field(default=2048, ge=1)
    max_text_chars: int = Field(default=200_000, ge=1)
    max_request_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    max_image_pixels: int = Field(default=40_000_000, ge=1)
    decode_memory_mb: int = Field(
        default=512,
        ge=16,
        description="Decoded image pixels in flight, all requests together (an image reserves its peak "
        "decode memory, ~5-9 bytes a pixel, from its header: 200-360 MB at the 40 MP limit); past it "
        "images wait, then get 429. An image needing more than all of it gets 413.",
    )
    decode_wait_s: float = Field(
        default=10.0, ge=0, description="Longest an image waits for decode memory before a 429."
    )
    image_formats: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["JPEG", "PNG", "WEBP", "GIF", "BMP"]
    )
    fast_image_decode: bool = Field(
        default=True, description="Decode JPEGs at reduced size (Pillow draft mode) before resizing."
    )
    allow_url_fetch: bool = False
    allowed_media_domains: Annotated[list[str], NoDecode] = Field(default_factory=list)
    url_fetch_timeout_s: float = Field(default=10.0, gt=0)
    url_fetch_max_redirects: int = Field(default=3, ge=0, le=10)

    # Retrieval ------------------------------------------------------------------------------
    data_dir: Path = Field(
        default=Path.home() / ".local" / "share" / "omniembed",
        description="Where embedded (Qdrant Edge) collections live.",
    )
    store: str | None = Field(
        default=None, description="http(s) URL of a Qdrant server or cluster; unset = embedded."
    )
    store_api_key: str | None = None

    # Video ----------------------------------------------------------------------------------
    video_max_duration_s: float = Field(default=600.0, gt=0)
    video_max_frames: int = Field(default=64, ge=1)
    video_max_pixels: int = Field(default=3840 * 2160, ge=1)
    video_default_frames: int = Field(default=8, ge=1)
    # Visual token budget of models that read images with their own processor (VLM embedders): an
    # image, or a video frame, larger than this is scaled down before the processor, which bounds the
    # visual tokens it becomes (Qwen3-VL: one token per 32x32 pixels) and the memory it holds.
    visual_max_pixels: int = Field(default=1_843_200, ge=1024, description="per image: 1800 tokens of 32x32")
    frame_max_pixels: int = Field(default=786_432, ge=1024, description="per frame: 768 tokens of 32x32")

    # Audio ----------------------------------------------------------------------------------
    audio_max_duration_s: float = Field(default=600.0, gt=0)
    audio_max_channels: int = Field(default=8, ge=1)

    @field_validator("models", "image_formats", "allowed_media_domains", "api_keys", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("model_options", mode="before")
    @classmethod
    def _option_list(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip().startswith("["):
            return [part.strip() for part in value.replace("\n", ";").split(";") if part.strip()]
        return _split_list(value)

    @field_validator("model_options")
    @classmethod
    def _options_parse(cls, value: list[str]) -> list[str]:
        from omniembed.models.declared import parse_model_option

        for option in value:
            parse_model_option(option)
        return value

    @field_validator("image_formats")
    @classmethod
    def _upper(cls, value: list[str]) -> list[str]:
        return [fmt.upper() for fmt in value]

    @field_validator("device", mode="before")
    @classmethod
    def _device(cls, value: Any) -> Any:
        # The seed service spells devices the OpenVINO way (CPU, GPU).
        text = str(value).strip().lower()
        return {"gpu": "cuda"}.get(text, text)

    @field_validator("device")
    @classmethod
    def _device_known(cls, value: str) -> str:
        if value != "auto" and value != "cpu" and not value.startswith("cuda"):
            raise ValueError("device must be auto, cpu, cuda or cuda:N")
        return value

    def served_models(self) -> list[str]:
        return self.models or [DEFAULT_MODEL]

    def effective_runtime(self) -> str:
        if self.use_openvino and self.runtime == "auto":
            return "openvino"
        return self.runtime

"""Typed domain errors.

Every layer raises these; `omniembed.api.errors` is the one place that turns them into HTTP
responses, so a model adapter never needs to know about status codes.
"""

from __future__ import annotations


class OmniEmbedError(Exception):
    """Base class of errors a caller can act on."""

    code = "internal_error"

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class InvalidInputError(OmniEmbedError):
    """The request is well-formed JSON but its content cannot be embedded."""

    code = "invalid_input"


class InputTooLongError(InvalidInputError):
    """A text is longer than the model's context and the caller asked not to truncate."""

    code = "input_too_long"


class MediaDecodeError(InvalidInputError):
    """Bytes that should be an image or a video could not be decoded."""

    code = "invalid_media"


class UnsupportedMediaTypeError(InvalidInputError):
    """The media format, container, codec or HTTP Content-Type is not accepted."""

    code = "unsupported_media_type"


class CapabilityError(InvalidInputError):
    """The model cannot do what was asked (a modality it lacks, Matryoshka on a fixed-size model...)."""

    code = "unsupported_capability"


class TooManyInputsError(InvalidInputError):
    """More items in one request than allowed: a 400, as OpenAI and Cohere answer it."""

    code = "too_many_inputs"


class PayloadTooLargeError(OmniEmbedError):
    """A body, a file, an image or a video exceeds a configured limit."""

    code = "payload_too_large"


class URLFetchError(InvalidInputError):
    """A media URL was refused by the fetch policy or could not be fetched."""

    code = "url_fetch_failed"


class ModelNotFoundError(OmniEmbedError):
    """The requested model is not served by this process."""

    code = "model_not_found"

    def __init__(self, requested: str, served: list[str]) -> None:
        listing = ", ".join(served) if served else "(none)"
        super().__init__(
            f"The model '{requested}' is not served here. Served models: {listing}.", param="model"
        )
        self.requested = requested
        self.served = served


class AuthenticationError(OmniEmbedError):
    code = "invalid_api_key"


class OverloadedError(OmniEmbedError):
    """The bounded queue is full; the caller should retry after `retry_after` seconds."""

    code = "overloaded"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotReadyError(OmniEmbedError):
    """The service is starting or draining."""

    code = "not_ready"


class ConfigurationError(OmniEmbedError):
    """Start-up configuration that cannot work (unknown family, bad model path...)."""

    code = "configuration_error"


class NotFoundError(OmniEmbedError):
    """A named resource (a collection, an item) does not exist."""

    code = "not_found"


class ConflictError(OmniEmbedError):
    """The request conflicts with existing state (a collection that already exists...)."""

    code = "conflict"

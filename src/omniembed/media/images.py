"""Decoding untrusted image bytes into RGB Pillow images, with limits checked before decoding."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from omniembed.errors import MediaDecodeError, PayloadTooLargeError, UnsupportedMediaTypeError

# Magic numbers of formats worth naming in an error message, checked before Pillow sees the bytes.
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "JPEG"),
    (b"\x89PNG\r\n\x1a\n", 0, "PNG"),
    (b"GIF87a", 0, "GIF"),
    (b"GIF89a", 0, "GIF"),
    (b"BM", 0, "BMP"),
    (b"WEBP", 8, "WEBP"),
    (b"II*\x00", 0, "TIFF"),
    (b"MM\x00*", 0, "TIFF"),
    (b"8BPS", 0, "PSD"),
    (b"%!PS", 0, "EPS"),
    (b"\xc5\xd0\xd3\xc6", 0, "EPS"),
    (b"SIMPLE  =", 0, "FITS"),
    (b"\x00\x00\x01\x00", 0, "ICO"),
    (b"\x00\x00\x00\x0cjP  ", 0, "JPEG2000"),
    (b"ftypavif", 4, "AVIF"),
    (b"ftypheic", 4, "HEIC"),
    (b"%PDF", 0, "PDF"),
    (b"<svg", 0, "SVG"),
    (b"<?xml", 0, "SVG"),
)


@dataclass(frozen=True)
class ImageLimits:
    max_pixels: int = 40_000_000
    formats: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "BMP")

    @classmethod
    def create(cls, max_pixels: int, formats: Iterable[str]) -> ImageLimits:
        return cls(max_pixels=max_pixels, formats=tuple(fmt.upper() for fmt in formats))


def sniff_format(data: bytes) -> str | None:
    for signature, offset, name in _SIGNATURES:
        if data[offset : offset + len(signature)] == signature:
            return name
    return None


def decode_image(
    data: bytes, limits: ImageLimits, *, draft: tuple[int, int] | None = None, what: str = "image"
) -> Image.Image:
    """Bytes → RGB image with EXIF orientation applied and transparency composited on white.

    The pixel count is read from the header and checked before any pixel is decoded, and Pillow's
    own decompression-bomb warning is raised as an error rather than ignored.
    """
    if not data:
        raise MediaDecodeError(f"The {what} is empty (0 bytes).")
    sniffed = sniff_format(data)
    if sniffed is not None and sniffed not in limits.formats:
        allowed = ", ".join(limits.formats)
        raise UnsupportedMediaTypeError(
            f"The {what} is {sniffed}, which is not accepted (allowed: {allowed})."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            opened = Image.open(io.BytesIO(data), formats=list(limits.formats))
            _check_pixels(opened, limits, what)
            if draft is not None and opened.format == "JPEG":
                opened.draft("RGB", draft)
            opened.load()
            if getattr(opened, "n_frames", 1) > 1:
                opened.seek(0)
            ImageOps.exif_transpose(opened, in_place=True)  # our own fresh image: no copy needed
            return to_rgb(opened)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise PayloadTooLargeError(f"The {what} is too large to decode safely: {error}") from error
        except UnidentifiedImageError as error:
            allowed = ", ".join(limits.formats)
            raise MediaDecodeError(
                f"The {what} is not a decodable image in an accepted format ({allowed})."
            ) from error
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            # Pillow reports truncated or corrupt streams through these.
            raise MediaDecodeError(f"The {what} could not be decoded: {error}") from error


def _check_pixels(image: Image.Image, limits: ImageLimits, what: str) -> None:
    width, height = image.size
    if width <= 0 or height <= 0:
        raise MediaDecodeError(f"The {what} declares an empty size {width}x{height}.")
    if width * height > limits.max_pixels:
        raise PayloadTooLargeError(
            f"The {what} is {width}x{height} = {width * height} pixels; the limit is {limits.max_pixels}."
        )


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert to RGB the way the reference processors do: transparency is composited on white."""
    if image.mode == "RGB":
        return image
    has_alpha = "A" in image.getbands() or image.info.get("transparency") is not None
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")

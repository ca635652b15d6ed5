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
    # Decoded pixels in flight, all requests together (media/budget.py), and how long an image
    # waits for room before its request gets a 429.
    decode_memory_bytes: int = 512 * 1024 * 1024
    decode_wait_s: float = 10.0

    @classmethod
    def create(
        cls,
        max_pixels: int,
        formats: Iterable[str],
        decode_memory_mb: int = 512,
        decode_wait_s: float = 10.0,
    ) -> ImageLimits:
        return cls(
            max_pixels=max_pixels,
            formats=tuple(fmt.upper() for fmt in formats),
            decode_memory_bytes=decode_memory_mb * 1024 * 1024,
            decode_wait_s=decode_wait_s,
        )


# Bytes Pillow keeps per pixel by mode (3-band modes are stored padded to 4); others take 4.
_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "LA": 4, "La": 4, "PA": 4}
# Rows of an image with transparency converted to RGB at a time: compositing the whole image at
# once held four full-size buffers (RGBA copy, white background, composite, RGB), 776 MB for a
# 39.7-megapixel PNG; strips hold the source and the RGB result only.
_STRIP_PIXELS = 1 << 20
# Larger non-JPEG images are reduced right after decoding on the fast path (see _reduced); smaller
# ones keep the fast resize's own path, whose copies (~6 bytes a pixel) are small at this size.
EARLY_REDUCE_PIXELS = 4_000_000


def decode_cost(data: bytes, limits: ImageLimits, draft: tuple[int, int] | None = None) -> int:
    """Peak bytes `decode_image` (and pre-processing after it) may hold for these bytes, read from
    the header: the decoded source, the RGB image made from it or a transposed copy, and a byte a
    pixel for the reduced or resized copy (six for the fast resize's copies of an image too small to
    be reduced first). Measured on a 39.7-megapixel PNG: RGB 160 MB (counted 198), RGBA 326 MB
    (counted 357). 0 for bytes refused before any pixel is decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opened = Image.open(io.BytesIO(data), formats=list(limits.formats))
            width, height = opened.size
            if width * height > limits.max_pixels or width <= 0 or height <= 0:
                return 0
            if draft is not None and opened.format == "JPEG":
                opened.draft("RGB", draft)
                width, height = opened.size
            source = _PIXEL_BYTES.get(opened.mode, 4)
            converted = 0 if opened.mode == "RGB" else 4
            transposed = source if "exif" in opened.info else 0  # EXIF may ask for a rotated copy
            fast_copies = draft is not None and width * height <= EARLY_REDUCE_PIXELS
    except Exception:  # not an image, or not one we accept: decode_image says why, at no cost
        return 0
    # The fast resize's input copies: 6 bytes a pixel unless reduced first (then a byte covers it).
    return width * height * (source + max(converted, transposed) + (6 if fast_copies else 1))


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
            image, source_format = to_rgb(opened), opened.format
            if image is not opened:
                opened.close()  # the full-size source goes now, not when the request ends
            # JPEGs were already decoded at draft scale; others are reduced now.
            return _reduced(image, draft) if draft is not None and source_format != "JPEG" else image
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
    if not has_alpha:
        return image.convert("RGB")
    width, height = image.size
    rgb = Image.new("RGB", image.size)
    rows = max(1, _STRIP_PIXELS // width)
    for top in range(0, height, rows):
        box = (0, top, width, min(height, top + rows))
        rgba = image.crop(box).convert("RGBA")  # crop keeps the palette and transparency info
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        rgb.paste(Image.alpha_composite(background, rgba).convert("RGB"), box[:2])
    return rgb


def _reduced(image: Image.Image, draft: tuple[int, int]) -> Image.Image:
    """The fast path's early resize: a non-JPEG image over 4 MP box-reduced by the largest integer
    factor that keeps both sides at least `draft` (what JPEG's draft mode does while decoding), so
    the full-size RGB buffer is freed here instead of travelling to the resize: a 39.7-megapixel
    PNG held +393 MB through the fast resize's copies, +160 MB reduced first."""
    factor = min(image.width // max(1, draft[0]), image.height // max(1, draft[1]))
    if factor < 2 or image.width * image.height <= EARLY_REDUCE_PIXELS:
        return image
    reduced = image.reduce(factor)
    image.close()
    return reduced

"""Decoding untrusted image bytes: formats, modes, EXIF orientation, limits."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from omniembed.errors import MediaDecodeError, PayloadTooLargeError, UnsupportedMediaTypeError
from omniembed.media.images import ImageLimits, decode_image, sniff_format
from tests.support.media import encode, photo

LIMITS = ImageLimits()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP"])
def test_accepted_formats_decode_to_rgb(fmt):
    image = decode_image(encode(photo("astronaut").resize((64, 48)), fmt), LIMITS)
    assert image.mode == "RGB" and image.size == (64, 48)


def test_exif_orientation_is_applied():
    source = photo("chelsea")  # 451x300, landscape
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    data = encode(source, "JPEG", exif=exif.tobytes())
    decoded = decode_image(data, LIMITS)
    assert decoded.size == (300, 451)


def test_transparency_is_composited_on_white():
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))  # fully transparent red
    decoded = decode_image(encode(rgba, "PNG"), LIMITS)
    assert decoded.getpixel((0, 0)) == (255, 255, 255)


@pytest.mark.parametrize("mode", ["L", "P", "LA", "1", "CMYK"])
def test_other_modes_become_rgb(mode):
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    data = encode(photo("coffee").resize((40, 30)).convert(mode), fmt)
    assert decode_image(data, LIMITS).mode == "RGB"


def test_animated_gif_uses_the_first_frame():
    frames = [Image.new("RGB", (16, 16), color) for color in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    decoded = np.asarray(decode_image(buffer.getvalue(), LIMITS))
    assert decoded[0, 0, 0] > 200 and decoded[0, 0, 2] < 50


def test_pixel_limit_is_checked_from_the_header():
    data = encode(Image.new("RGB", (3000, 3000)), "PNG")
    with pytest.raises(PayloadTooLargeError):
        decode_image(data, ImageLimits(max_pixels=1_000_000))


@pytest.mark.parametrize("fmt", ["TIFF", "ICO"])
def test_formats_outside_the_allow_list_are_refused(fmt):
    data = encode(photo().resize((32, 32)), fmt)
    with pytest.raises(UnsupportedMediaTypeError):
        decode_image(data, LIMITS)


def test_disguised_and_broken_payloads():
    with pytest.raises(MediaDecodeError):
        decode_image(b"", LIMITS)
    with pytest.raises(MediaDecodeError):
        decode_image(b"GIF89a" + b"\x00" * 10, LIMITS)
    with pytest.raises(MediaDecodeError):
        decode_image(encode(photo(), "PNG")[:100], LIMITS)
    with pytest.raises(MediaDecodeError):
        decode_image(b"<html>not an image</html>", LIMITS)


def test_sniffing():
    assert sniff_format(encode(photo(), "JPEG")) == "JPEG"
    assert sniff_format(encode(photo(), "WEBP")) == "WEBP"
    assert sniff_format(b"8BPS....") == "PSD"
    assert sniff_format(b"random") is None


def test_extra_formats_can_be_enabled():
    data = encode(photo().resize((32, 32)), "TIFF")
    limits = ImageLimits.create(1_000_000, ["jpeg", "png", "tiff"])
    assert decode_image(data, limits).size == (32, 32)

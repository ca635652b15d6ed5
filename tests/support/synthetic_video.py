"""Small videos encoded in memory with PyAV, for containers and codecs the bundled samples lack."""

from __future__ import annotations

import io

import av
import numpy as np


def encode_video(
    container: str, codec: str, *, frames: int = 12, size: tuple[int, int] = (64, 48), rate: int = 6
) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as output:
        stream = output.add_stream(codec, rate=rate)
        stream.width, stream.height = size
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        for index in range(frames):
            pixels = np.zeros((size[1], size[0], 3), dtype=np.uint8)
            pixels[..., index % 3] = 40 + 15 * index
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return buffer.getvalue()

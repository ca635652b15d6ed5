"""Towers that have no export (CLAP's audio tower, fused VLM towers) stay on torch when the runtime
was chosen automatically, beside the exported ones, and stop the start when it was asked for by name."""

from __future__ import annotations

import pytest

from omniembed.engine.bootstrap import load_model
from omniembed.errors import ConfigurationError
from omniembed.models.registry import resolve
from tests.support.tiny_clap import build_tiny_clap


@pytest.fixture(scope="module")
def clap_dir(tmp_path_factory):
    return build_tiny_clap(tmp_path_factory.mktemp("clap") / "model")


def test_automatic_choice_keeps_the_audio_tower_on_torch(clap_dir, tmp_path):
    adapter = load_model(
        resolve(f"c={clap_dir}", runtime="onnx", runtime_explicit=False, models_dir=tmp_path)
    )
    assert adapter.spec.runtime == "onnx+torch"
    assert type(adapter.text).__name__ == "CompiledTextTower"
    assert type(adapter.audio).__name__ == "ClapAudioTower"


def test_runtime_asked_by_name_refuses_a_tower_it_cannot_run(clap_dir, tmp_path):
    with pytest.raises(ConfigurationError, match="audio tower"):
        load_model(resolve(f"c={clap_dir}", runtime="onnx", runtime_explicit=True, models_dir=tmp_path))

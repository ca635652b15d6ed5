"""One settings model: CLI keyword arguments > OMNIEMBED_* / seed EMBEDDING_* env vars > defaults."""

from __future__ import annotations

import pytest

from omniembed.settings import DEFAULT_MODEL, Settings


def test_defaults_serve_the_starter_model(monkeypatch):
    for name in ("OMNIEMBED_MODELS", "OMNIEMBED_MODEL", "EMBEDDING_MODEL_NAME"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.served_models() == [DEFAULT_MODEL]
    assert settings.host == "127.0.0.1" and settings.allow_url_fetch is False


def test_omniembed_env_vars(monkeypatch):
    monkeypatch.setenv("OMNIEMBED_MODELS", "a, b=/models/b")
    monkeypatch.setenv("OMNIEMBED_PORT", "9001")
    monkeypatch.setenv("OMNIEMBED_ALLOW_URL_FETCH", "true")
    monkeypatch.setenv("OMNIEMBED_ALLOWED_MEDIA_DOMAINS", '["example.com"]')
    settings = Settings()
    assert settings.models == ["a", "b=/models/b"]
    assert settings.port == 9001 and settings.allow_url_fetch is True
    assert settings.allowed_media_domains == ["example.com"]


def test_seed_env_vars(monkeypatch):
    monkeypatch.delenv("OMNIEMBED_MODELS", raising=False)
    monkeypatch.delenv("OMNIEMBED_RUNTIME", raising=False)
    monkeypatch.delenv("OMNIEMBED_MODELS_DIR", raising=False)
    monkeypatch.setenv("EMBEDDING_MODEL_NAME", "CLIP/clip-vit-b-16")
    monkeypatch.setenv("EMBEDDING_DEVICE", "CPU")
    monkeypatch.setenv("EMBEDDING_USE_OV", "true")
    monkeypatch.setenv("EMBEDDING_OV_MODELS_DIR", "/tmp/ov-models")
    settings = Settings()
    assert settings.models == ["CLIP/clip-vit-b-16"]
    assert settings.device == "cpu"
    assert settings.effective_runtime() == "openvino"
    assert str(settings.models_dir) == "/tmp/ov-models"


def test_keyword_arguments_win_over_env(monkeypatch):
    monkeypatch.setenv("OMNIEMBED_PORT", "9001")
    assert Settings(port=7000).port == 7000


@pytest.mark.parametrize(("field", "value"), [("device", "tpu"), ("port", 70000), ("precision", "fp16")])
def test_invalid_values_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        Settings(**{field: value})


def test_gpu_spelling_maps_to_cuda():
    assert Settings(device="GPU").device == "cuda"

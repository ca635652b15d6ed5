"""OpenVINO int8 is chosen by accuracy: layers stay in fp32, rung by rung, until the quantized
tower's worst cosine to fp32 on the built-in probes reaches the floor."""

from __future__ import annotations

import json

import numpy as np

from omniembed.models.base import Truncation
from omniembed.runtimes.openvino import LADDER
from tests.support.runtimes import openvino_adapter


def load_int8(source, models_dir, floor: float):
    return openvino_adapter(source, models_dir, "int8", int8_min_cosine=floor)


def report(models_dir, modality: str) -> dict:
    (found,) = models_dir.glob(f"compiled/*-{modality}-openvino-int8-*/model-int8.json")
    return json.loads(found.read_text())


def test_minilm_keeps_what_accuracy_requires(minilm_dir, tmp_path):
    """all-MiniLM-L6-v2 fully quantized falls far below 0.99 on one-token texts: the ladder goes on
    until a rung reaches the floor, and serves that rung."""
    adapter = load_int8(minilm_dir, tmp_path, 0.99)
    trials = report(tmp_path, "text")["trials"]
    assert trials[0]["fp32"] == LADDER[0][0] and trials[0]["worst_cosine"] < 0.99, trials
    assert trials[-1]["worst_cosine"] >= 0.99 and len(trials) > 1, trials
    assert report(tmp_path, "text")["chosen"] == trials[-1]["fp32"]
    tower = adapter.text
    batch = tower.collate([w[0] for w in tower.preprocess(["?", "x"], Truncation.END)])
    assert np.isfinite(tower.forward(batch)).all()


def test_a_zero_floor_quantizes_everything(tiny_clip_dir, tmp_path):
    load_int8(tiny_clip_dir, tmp_path, 0.0)
    for modality in ("text", "image"):
        found = report(tmp_path, modality)
        assert found["chosen"] == LADDER[0][0] and len(found["trials"]) == 1, found


def test_an_unreachable_floor_serves_the_most_accurate_rung(tiny_clip_dir, tmp_path):
    load_int8(tiny_clip_dir, tmp_path, 1.0)
    found = report(tmp_path, "text")
    best = max(found["trials"], key=lambda trial: trial["worst_cosine"])
    assert found["chosen"] == best["fp32"] and len(found["trials"]) == len(LADDER), found

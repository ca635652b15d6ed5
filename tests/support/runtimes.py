"""Loading a model on OpenVINO for runtime tests."""

from __future__ import annotations

from typing import Any

from omniembed.engine.bootstrap import load_model
from omniembed.models.registry import resolve


def openvino_adapter(source: Any, models_dir: Any, precision: str = "fp32", **options: Any) -> Any:
    request = resolve(
        str(source),
        runtime="openvino",
        runtime_explicit=True,
        precision=precision,
        models_dir=models_dir,
        **options,
    )
    return load_model(request)

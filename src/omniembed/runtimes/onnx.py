"""ONNX Runtime sessions: fp32 as exported, int8 by dynamic quantization of the weights."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from omniembed.runtimes.compiled import Runner


def onnx_runner(export: Callable[[], Path], folder: Path, precision: str) -> Runner:
    import onnxruntime as ort

    path = folder / "model-int8.onnx" if precision == "int8" else None
    source = export() if path is None or not path.is_file() else None
    if precision == "int8" and not path.is_file():  # type: ignore[union-attr]
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(source), str(path), weight_type=QuantType.QInt8)
    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    # Idle workers must not spin: pre-processing and HTTP share these cores with inference.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.enable_cpu_mem_arena = False
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    model = str(path if path is not None else source)
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    names = [entry.name for entry in session.get_inputs()]

    def run(batch: dict[str, np.ndarray]) -> np.ndarray:
        output = session.run(None, {name: batch[name] for name in names})[0]
        return np.asarray(output, dtype=np.float32)

    return run

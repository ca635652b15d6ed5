"""ONNX Runtime sessions: fp32 as exported, int8 by dynamic quantization of the weights."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from omniembed.runtimes.protocol import Runner


def build_model(export: Callable[[], Path], folder: Path, precision: str) -> Path:
    """The model file to serve: the export itself for fp32, its int8 quantization (made once)."""
    if precision != "int8":
        return export()
    path = folder / "model-int8.onnx"
    if not path.is_file():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        staging = folder / ".model-int8.tmp.onnx"
        # Matrix products only: ONNX Runtime's ConvInteger is slower than its fp32 convolutions on
        # CPUs, and a traced convolution whose weight arrives as a Constant node (MobileCLIP's fused
        # FastViT) cannot be quantized dynamically at all.
        quantize_dynamic(
            str(export()), str(staging), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"]
        )
        staging.replace(path)
    return path


def onnx_runner(export: Callable[[], Path], folder: Path, precision: str) -> Runner:
    import onnxruntime as ort

    model = str(build_model(export, folder, precision))
    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    # Idle workers must not spin: pre-processing and HTTP share these cores with inference.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.enable_cpu_mem_arena = False
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    names = [entry.name for entry in session.get_inputs()]

    def run(batch: dict[str, np.ndarray]) -> np.ndarray:
        output = session.run(None, {name: batch[name] for name in names})[0]
        return np.asarray(output, dtype=np.float32)

    return run

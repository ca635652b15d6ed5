"""OpenVINO: the ONNX export converted to IR once; fp32 and bf16 differ only in the CPU's inference
precision hint (OpenVINO defaults to bf16 on CPUs that have it, so fp32 is asked for explicitly).

int8 is NNCF post-training static quantization calibrated on the built-in set, in transformer mode
(softmax, layer norms and the other accuracy-sensitive operations stay in floating point). Text
towers also keep their feed-forward down-projections (intermediate → hidden MatMuls, whose inputs
carry the outlier activations) in fp32: on all-MiniLM-L6-v2 that lifts the worst cosine to the fp32
model, on one-token inputs, from 0.941 to 0.990, at half the int8 text speed (ViT-B/32's text tower:
359 against 823 texts/s at batch 16); `int8_keep_text_ffn=false` trades that accuracy back for speed.
Image towers are quantized throughout.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from omniembed.runtimes.compiled import Runner

logger = logging.getLogger(__name__)

_HINTS = {"fp32": "f32", "bf16": "bf16", "int8": "f32"}


def _port_names(ports: Sequence[Any], wanted: Sequence[str]) -> list[str]:
    """The exported input name of each port (OpenVINO may list internal tensor names first)."""
    names = []
    for port in ports:
        found = [name for name in wanted if name in port.get_names()]
        if not found:
            raise RuntimeError(f"OpenVINO input {port.get_names()} matches none of {list(wanted)}")
        names.append(found[0])
    return names


def feed_forward_down_projections(model: Any) -> list[str]:
    """MatMuls with a constant weight that contracts the feature dimension (e.g. 1536 → 384)."""
    names = []
    for op in model.get_ordered_ops():
        if op.get_type_name() != "MatMul":
            continue
        weight = op.input_value(1).get_node()
        while weight.get_type_name() == "Convert":
            weight = weight.input_value(0).get_node()
        if weight.get_type_name() != "Constant" or len(weight.get_output_shape(0)) != 2:
            continue
        rows, columns = (int(d) for d in weight.get_output_shape(0))
        inputs, outputs = (columns, rows) if op.get_attributes().get("transpose_b") else (rows, columns)
        if inputs > outputs:
            names.append(op.get_friendly_name())
    return names


def _ir(
    export: Callable[[], Path],
    folder: Path,
    precision: str,
    calibration: Callable[[], list],
    wanted: Sequence[str],
    keep_ffn_fp32: bool,
) -> Path:
    import openvino as ov

    name = "model-int8.xml" if precision == "int8" else "model.xml"
    target = folder / name
    if target.is_file():
        return target
    model = ov.convert_model(str(export()))
    if precision == "int8":
        import nncf

        inputs = _port_names(model.inputs, wanted)
        batches = [{n: b[n] for n in inputs} for b in calibration()]
        logger.info("int8: calibrating on %d batches", len(batches))
        keep = feed_forward_down_projections(model) if keep_ffn_fp32 else []
        nncf.set_log_level(logging.ERROR)  # its per-layer INFO lines would flood the server log
        model = nncf.quantize(
            model,
            nncf.Dataset(batches),
            model_type=nncf.ModelType.TRANSFORMER,
            subset_size=len(batches),
            ignored_scope=nncf.IgnoredScope(names=keep, validate=False),
        )
    staging = folder / f".{name}.tmp.xml"
    ov.save_model(model, str(staging), compress_to_fp16=False)
    staging.with_suffix(".bin").replace(target.with_suffix(".bin"))
    staging.replace(target)
    return target


def stream_config(streams: int) -> dict[str, str]:
    """1: one stream over every core (the latency hint, the default); n: n streams; 0: OpenVINO's
    throughput hint picks the streams for this CPU. In-process, two single-thread streams beat one
    two-thread stream on 2 cores (ViT-B/32 int8: 79 against 66 images/s alone, 46 against 31 with
    two JPEG-decoding threads beside them), but the whole server measured the same either way
    (46-50 images/s), while a lone request takes one core instead of two. More streams are for
    machines with many cores, where one pass over all of them parallelizes small batches poorly."""
    if streams == 1:
        return {"PERFORMANCE_HINT": "LATENCY"}
    config = {"PERFORMANCE_HINT": "THROUGHPUT"}
    if streams > 1:
        config["NUM_STREAMS"] = str(streams)
    return config


def openvino_runner(
    export: Callable[[], Path],
    folder: Path,
    precision: str,
    calibration: Callable[[], list],
    input_names: Sequence[str],
    keep_ffn_fp32: bool,
    streams: int = 1,
) -> tuple[Runner, int]:
    """The runner and how many calls it can serve at once (one infer request per stream)."""
    import openvino as ov

    core = ov.Core()
    core.set_property({"CACHE_DIR": str(folder / "kernels")})
    config = {"INFERENCE_PRECISION_HINT": _HINTS[precision], **stream_config(streams)}
    ir = _ir(export, folder, precision, calibration, input_names, keep_ffn_fp32)
    compiled = core.compile_model(str(ir), "CPU", config)
    names = _port_names(compiled.inputs, input_names)
    count = max(1, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
    idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
    for _ in range(count):
        idle.put(compiled.create_infer_request())

    def run(batch: dict[str, np.ndarray]) -> np.ndarray:
        request = idle.get()  # callers never exceed `count`, so this does not wait
        try:
            # infer() copies its outputs (share_outputs=False), so the request can be reused at once.
            result = request.infer({name: batch[name] for name in names})
            return np.asarray(result[compiled.output(0)], dtype=np.float32)
        finally:
            idle.put(request)

    return run, count

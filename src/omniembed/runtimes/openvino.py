"""OpenVINO: the ONNX export converted to IR once; fp32 and bf16 differ only in the CPU's inference
precision hint (OpenVINO defaults to bf16 on CPUs that have it, so fp32 is asked for explicitly).

int8 is NNCF post-training static quantization calibrated on the built-in set, in transformer mode
(softmax, layer norms and the other accuracy-sensitive operations stay in floating point), chosen
by accuracy: the tower is quantized throughout first, and while its worst cosine to the fp32 model
over the built-in probes (the calibration set, mirrored photos and one-token texts) stays under the
floor (`int8_min_cosine`, 0.99), the next rung of `LADDER` keeps more weight MatMuls in fp32.
Measured: the ViT-B/32-sized CLIP passes fully quantized (text 0.996, image 0.9997; text 853
against 397 texts/s at batch 16 with its down-projections kept); all-MiniLM-L6-v2 does not (0.72
on "?"), nor with its down-projections (0.983) or feed-forward layers (0.986) kept, and is served
with every weight MatMul in fp32 (0.9988). The choice and every rung's cosine are written next to
the IR (`model-int8.json`) and logged.
"""

from __future__ import annotations

import json
import logging
import queue
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from omniembed.runtimes.protocol import Runner

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


def _weight_matmuls(model: Any) -> list[tuple[str, int, int]]:
    """(name, input features, output features) of every MatMul with a constant 2-D weight."""
    found = []
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
        found.append((op.get_friendly_name(), inputs, outputs))
    return found


def feed_forward_down_projections(model: Any) -> list[str]:
    """MatMuls that contract the feature dimension (e.g. 1536 → 384): their inputs carry the
    outlier activations that per-tensor int8 handles worst."""
    return [name for name, inputs, outputs in _weight_matmuls(model) if inputs > outputs]


def feed_forward_layers(model: Any) -> list[str]:
    """Both halves of each feed-forward block: the widening and the contracting MatMuls."""
    return [name for name, inputs, outputs in _weight_matmuls(model) if inputs != outputs]


def weight_matmuls(model: Any) -> list[str]:
    return [name for name, _, _ in _weight_matmuls(model)]


# What stays in fp32, tried in this order; attention's own MatMuls and convolutions stay int8 on all.
LADDER: tuple[tuple[str, Callable[[Any], list[str]]], ...] = (
    ("nothing", lambda model: []),
    ("feed-forward down-projections", feed_forward_down_projections),
    ("feed-forward layers", feed_forward_layers),
    ("every weight MatMul", weight_matmuls),
)


def _worst_cosine(compiled: Any, batches: list[dict[str, np.ndarray]], expected: list[np.ndarray]) -> float:
    worst = 1.0
    request = compiled.create_infer_request()
    for batch, reference in zip(batches, expected, strict=True):
        found = np.asarray(request.infer(batch)[compiled.output(0)], dtype=np.float64)
        found, want = found.reshape(len(found), -1), reference.reshape(len(reference), -1)
        norms = np.linalg.norm(found, axis=1) * np.linalg.norm(want, axis=1)
        cosines = (found * want).sum(axis=1) / np.maximum(norms, 1e-12)
        worst = min(worst, float(cosines.min()))
    return worst


def quantize_int8(
    model: Any, calibration: list[dict[str, np.ndarray]], probes: list[dict[str, np.ndarray]], floor: float
) -> tuple[Any, dict[str, Any]]:
    """The first rung of LADDER whose worst cosine to fp32 on the probes reaches `floor` (else the
    most accurate rung, with a warning), and a report of every rung tried."""
    import nncf
    import openvino as ov

    core = ov.Core()
    fp32 = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    expected = [np.asarray(fp32.create_infer_request().infer(b)[fp32.output(0)]) for b in probes]
    nncf.set_log_level(logging.ERROR)  # its per-layer INFO lines would flood the server log
    trials: list[dict[str, Any]] = []
    best: tuple[float, Any, str] | None = None
    tried: set[tuple[str, ...]] = set()
    for label, choose in LADDER:
        keep = choose(model)
        if tuple(keep) in tried:
            continue  # this model has no layers of that kind: the rung adds nothing
        tried.add(tuple(keep))
        quantized = nncf.quantize(
            model.clone(),
            nncf.Dataset(calibration),
            model_type=nncf.ModelType.TRANSFORMER,
            subset_size=len(calibration),
            ignored_scope=nncf.IgnoredScope(names=keep, validate=False),
        )
        compiled = core.compile_model(quantized, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        cosine = _worst_cosine(compiled, probes, expected)
        trials.append({"fp32": label, "layers": len(keep), "worst_cosine": round(cosine, 5)})
        logger.info("int8 with %s in fp32 (%d layers): worst cosine %.4f", label, len(keep), cosine)
        if best is None or cosine > best[0]:
            best = (cosine, quantized, label)
        if cosine >= floor:
            break  # every earlier rung fell short of the floor, so this one is also the best
    assert best is not None
    if best[0] < floor:
        logger.warning(
            "int8 reaches worst cosine %.4f at best (floor %.4f); serving it with %s in fp32",
            best[0],
            floor,
            best[2],
        )
    return best[1], {"floor": floor, "chosen": best[2], "trials": trials}


def build_ir(
    export: Callable[[], Path],
    folder: Path,
    precision: str,
    calibration: Callable[[], tuple[list, list]],
    wanted: Sequence[str],
    min_cosine: float,
) -> Path:
    """The IR to serve, converted (and for int8 calibrated) once. The server runs this in a child
    process (runtimes/export.py): converting and calibrating peak far above serving."""
    import openvino as ov

    name = "model-int8.xml" if precision == "int8" else "model.xml"
    target = folder / name
    if target.is_file():
        return target
    model = ov.convert_model(str(export()))
    if precision == "int8":
        inputs = _port_names(model.inputs, wanted)
        calibrate, probe = calibration()
        batches = [{n: b[n] for n in inputs} for b in calibrate]
        probes = [{n: b[n] for n in inputs} for b in probe]
        logger.info("int8: calibrating on %d batches, checking on %d", len(batches), len(probes))
        model, report = quantize_int8(model, batches, probes, min_cosine)
        target.with_suffix(".json").write_text(json.dumps(report, indent=1))
    staging = folder / f".{name}.tmp.xml"
    ov.save_model(model, str(staging), compress_to_fp16=False)
    staging.with_suffix(".bin").replace(target.with_suffix(".bin"))
    staging.replace(target)
    return target


def stream_config(streams: int) -> dict[str, str]:
    """0: OpenVINO's throughput hint picks the streams for this CPU (the default; 2 on 2 cores);
    1: one stream over every core (the latency hint); n: n streams. On 2 cores, two single-thread
    streams served 53-56 images/s end to end against 48-51 for one two-thread pass (no barrier
    stalls when JPEG decoding takes a core; the batcher shares waiting items among idle streams),
    texts the same within noise, while a lone request gets one core instead of two."""
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
    calibration: Callable[[], tuple[list, list]],
    input_names: Sequence[str],
    min_cosine: float = 0.99,
    streams: int = 0,
) -> tuple[Runner, int]:
    """The runner and how many calls it can serve at once (one infer request per stream)."""
    import openvino as ov

    core = ov.Core()
    core.set_property({"CACHE_DIR": str(folder / "kernels")})
    config = {"INFERENCE_PRECISION_HINT": _HINTS[precision], **stream_config(streams)}
    ir = build_ir(export, folder, precision, calibration, input_names, min_cosine)
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

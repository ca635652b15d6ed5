"""Export a torch tower once (ONNX, via torch.onnx), cache it, and serve it with ONNX Runtime or OpenVINO.

Artifacts live in `models_dir/compiled/<model>-<key>/`, where the key covers the model's identity
(hub revision or local file stamps), the tower, the runtime, the precision and the library versions,
so a changed checkpoint or upgrade never reuses a stale export.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from omniembed.models.base import ExportSpec, ImageTower, TextFeature, TextTower, Tower, Truncation
from omniembed.runtimes.protocol import Runner

logger = logging.getLogger(__name__)


def _released(*args: Any) -> Any:
    raise RuntimeError("this tower runs compiled; its torch weights were released")


def _release(base: Tower) -> None:
    # The torch encode closure is what keeps the model's weights alive.
    if hasattr(base, "encode"):
        base.encode = _released
    if hasattr(base, "model"):
        base.model = None


class CompiledTextTower(TextTower):
    def __init__(self, base: TextTower, run: Runner) -> None:
        _release(base)
        self.base = base
        self.run = run
        self.max_tokens = base.max_tokens

    def preprocess(
        self,
        texts: Sequence[str],
        truncation: Truncation,
        prompt: str | None = None,
        max_tokens: int | None = None,
        add_special_tokens: bool = True,
    ) -> list[list[TextFeature]]:
        return self.base.preprocess(texts, truncation, prompt, max_tokens, add_special_tokens)

    def collate(self, features: Sequence[Any]) -> Any:
        return self.base.collate(features)

    def forward(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        return self.run(batch)


class CompiledImageTower(ImageTower):
    def __init__(self, base: ImageTower, run: Runner) -> None:
        _release(base)
        self.base = base
        self.preprocessor = base.preprocessor
        self.run = run

    def preprocess(self, image: Image.Image, fast: bool = False) -> Any:
        return self.base.preprocess(image, fast=fast)

    def collate(self, features: Sequence[Any]) -> Any:
        return self.base.collate(features)

    def forward(self, batch: Any) -> np.ndarray:
        return self.run(batch if isinstance(batch, dict) else {"pixel_values": batch})


def _versions() -> str:
    names = ("omniembed", "torch", "transformers", "onnx", "onnxruntime", "openvino", "nncf")
    found = []
    for name in names:
        try:
            found.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ",".join(found)


def model_identity(source: str, revision: str | None) -> str:
    """Local directories by file names, sizes and mtimes; hub ids by the cached snapshot's commit."""
    path = Path(source)
    if path.is_dir():
        stamps = sorted(
            (str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns)
            for p in path.rglob("*")
            if p.is_file()
        )
        return json.dumps([str(path.resolve()), stamps])
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(source, "config.json", revision=revision)
        if isinstance(cached, str):
            return f"{source}@{Path(cached).parent.name}"
    except Exception:  # no hub metadata: fall back to the name and revision
        pass
    return f"{source}@{revision or 'main'}"


def artifact_dir(request: Any, modality: str) -> Path:
    identity = "|".join(
        [
            model_identity(request.source, request.revision),
            modality,
            request.runtime,
            request.precision,
            f"int8-min-cosine={request.int8_min_cosine}" if request.precision == "int8" else "",
            _versions(),
        ]
    )
    key = hashlib.sha256(identity.encode()).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", request.name).strip("-")[-60:] or "model"
    return (
        Path(request.models_dir)
        / "compiled"
        / f"{slug}-{modality}-{request.runtime}-{request.precision}-{key}"
    )


def export_onnx(spec: ExportSpec, target: Path) -> Path:
    """torch → ONNX with dynamic batch (and sequence) axes, written atomically."""
    import torch

    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".export-"))
    tensors = tuple(torch.from_numpy(spec.example[name]) for name in spec.input_names)
    # nn.MultiheadAttention's fused inference kernel (open_clip's text towers use that module) has no
    # ONNX symbolic: trace the composite path it stands for instead.
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        # The TorchScript exporter on purpose: it needs no onnxscript and keeps input names/axes.
        # Its tracer warns about Python branches on shapes; the ones in these towers (padding and
        # position-length checks) take the same branch for every batch shape we feed, which the
        # runtime parity tests check across batch sizes and sequence lengths.
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.simplefilter("ignore", UserWarning)  # exporter internals (constant folding notes)
            torch.onnx.export(
                spec.module.eval(),
                tensors,
                str(staging / target.name),
                input_names=list(spec.input_names),
                output_names=["embeddings"],
                dynamic_axes={**spec.dynamic_axes, "embeddings": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        for produced in staging.iterdir():
            os.replace(produced, target.parent / produced.name)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
        shutil.rmtree(staging, ignore_errors=True)
    return target


def calibration_batches(
    tower: Tower, modality: str
) -> tuple[list[dict[str, np.ndarray]], list[dict[str, np.ndarray]]]:
    """Inputs for int8 calibration and for its accuracy check, shaped like real batches."""
    from omniembed.runtimes import calibration

    if modality == "text":
        assert isinstance(tower, TextTower)
        calibrate = _text_batches(tower, calibration.texts(), 8)
        probes = _text_batches(tower, calibration.probe_texts(), 8)
    else:
        assert isinstance(tower, ImageTower)
        calibrate = _image_batches(tower, calibration.images(), 4)
        probes = _image_batches(tower, calibration.probe_images(), 4)
    return calibrate, probes


def _text_batches(tower: TextTower, texts: list[str], size: int) -> list[dict[str, np.ndarray]]:
    windows = [w[0] for w in tower.preprocess(texts, Truncation.END)]
    return [tower.collate(windows[i : i + size]) for i in range(0, len(windows), size)]


def _image_batches(tower: ImageTower, photos: list[Image.Image], size: int) -> list[dict[str, np.ndarray]]:
    pixels = [tower.preprocess(photo) for photo in photos]
    batches = [tower.collate(pixels[i : i + size]) for i in range(0, len(pixels), size)]
    return [b if isinstance(b, dict) else {"pixel_values": b} for b in batches]


def artifact_path(request: Any, modality: str) -> Path:
    """The file a tower is served from; present once its export (and quantization) is done."""
    folder = artifact_dir(request, modality)
    if request.runtime == "onnx":
        return folder / ("model-int8.onnx" if request.precision == "int8" else f"{modality}.onnx")
    return folder / ("model-int8.xml" if request.precision == "int8" else "model.xml")


def _runner(tower: Tower, modality: str, request: Any, spec: ExportSpec) -> tuple[Runner, int]:
    """Serve the artifacts, building any that are missing in this process."""
    folder = artifact_dir(request, modality)
    onnx_path = folder / f"{modality}.onnx"
    if request.runtime == "onnx":
        from omniembed.runtimes.onnx import onnx_runner

        return onnx_runner(lambda: export_onnx(spec, onnx_path), folder, request.precision), 1
    from omniembed.runtimes.openvino import openvino_runner

    return openvino_runner(
        lambda: export_onnx(spec, onnx_path),
        folder,
        request.precision,
        lambda: calibration_batches(tower, modality),
        spec.input_names,
        min_cosine=request.int8_min_cosine,
        streams=request.openvino_streams,
    )


def build_tower(tower: Tower, modality: str, request: Any) -> Path:
    """Export (convert, calibrate) one tower in this process; run by the export child."""
    spec = tower.export_spec()
    if spec is None:
        raise NotImplementedError(f"{type(tower).__name__} has no export")
    folder = artifact_dir(request, modality)
    onnx_path = folder / f"{modality}.onnx"
    if request.runtime == "onnx":
        from omniembed.runtimes.onnx import build_model

        return build_model(lambda: export_onnx(spec, onnx_path), folder, request.precision)
    from omniembed.runtimes.openvino import build_ir

    return build_ir(
        lambda: export_onnx(spec, onnx_path),
        folder,
        request.precision,
        lambda: calibration_batches(tower, modality),
        spec.input_names,
        request.int8_min_cosine,
    )


# Build errors of the last export child, by artifact: a model's second tower reads its own here
# instead of starting another child that would fail the same way.
_CHILD_ERRORS: dict[Path, str] = {}


def ensure_built(request: Any, modality: str) -> None:
    """Build the artifacts of every tower of the model in a child process unless cached (see
    runtimes/export.py): this process then only loads them, so its peak stays near serving's."""
    target = artifact_path(request, modality)
    if target.is_file():
        return
    if target not in _CHILD_ERRORS:
        from omniembed.runtimes.export import build_in_child

        errors = build_in_child(request)
        for name, message in errors.items():
            _CHILD_ERRORS[artifact_path(request, name)] = message
    if not target.is_file():
        message = _CHILD_ERRORS.pop(target, "the export process built nothing")
        raise RuntimeError(message)


def compile_tower(tower: Tower, modality: str, request: Any) -> Tower:
    spec = tower.export_spec()
    if spec is None:
        raise NotImplementedError(f"{type(tower).__name__} has no export")
    ensure_built(request, modality)
    folder = artifact_dir(request, modality)
    run, concurrency = _runner(tower, modality, request, spec)
    logger.info(
        "%s tower of %s runs on %s %s, %d at once (%s)",
        modality,
        request.name,
        request.runtime,
        request.precision,
        concurrency,
        folder,
    )
    compiled: Tower
    if modality == "text":
        assert isinstance(tower, TextTower)
        compiled = CompiledTextTower(tower, run)
    else:
        assert isinstance(tower, ImageTower)
        compiled = CompiledImageTower(tower, run)
    compiled.concurrency = concurrency
    return compiled

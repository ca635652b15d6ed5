"""Build a model's compiled artifacts (ONNX export, OpenVINO IR, int8 calibration) in a child process.

The torch → ONNX export, the conversion to IR and NNCF's calibration hold several copies of the
weights at once: a ViT-B/32-sized CLIP peaked at 3.2 GB of RSS starting on OpenVINO int8 against
1.15 GB serving it on torch fp32, so a small host was killed before it served. Run here, in a fresh
interpreter that exits when done, that peak is returned to the operating system; the server then
loads the cached artifacts (`models_dir/compiled/`), as it does on every later start.

    python -m omniembed.runtimes.export REQUEST.pickle RESULT.json

REQUEST is the pickled `LoadRequest`; RESULT receives {"pid", "peak_rss_mb", "seconds", "errors"}
(errors: modality → message for each tower whose artifacts could not be built), and the same
record goes to `export.json` in each built tower's folder.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def peak_rss_mb(pid: int | str = "self") -> float:
    """The process's high-water mark of resident memory (VmHWM), in MB; NaN where /proc lacks it."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def build_in_child(request: Any) -> dict[str, str]:
    """Build every missing artifact of `request`'s towers in a child interpreter; returns the
    errors by modality. Raises RuntimeError when the child itself fails (killed for memory...)."""
    with tempfile.TemporaryDirectory(prefix="omniembed-export-") as scratch:
        request_path, result_path = Path(scratch) / "request.pickle", Path(scratch) / "result.json"
        request_path.write_bytes(pickle.dumps(request))
        command = [sys.executable, "-m", "omniembed.runtimes.export", str(request_path), str(result_path)]
        started = time.perf_counter()
        logger.info("building %s artifacts of %s in a child process", request.runtime, request.name)
        # The child's stdout goes to our stderr: `omniembed embed` prints its vectors on stdout.
        completed = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=_stderr(), check=False)
        if completed.returncode != 0 or not result_path.is_file():
            raise RuntimeError(
                f"the export process exited with status {completed.returncode} "
                "(a negative status is a signal: -9 is usually the out-of-memory killer)"
            )
        result = json.loads(result_path.read_text())
    logger.info(
        "%s artifacts of %s built in child pid %d in %.1fs (its peak RSS %.0f MB; this process %.0f MB)",
        request.runtime,
        request.name,
        result["pid"],
        time.perf_counter() - started,
        result["peak_rss_mb"],
        peak_rss_mb(),
    )
    errors: dict[str, str] = result["errors"]
    return errors


def _stderr() -> int:
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by an object without a descriptor
        return subprocess.DEVNULL


def build_all(request: Any) -> tuple[list[Path], dict[str, str]]:
    """In the child: load the torch model as the server would, then build each tower's artifacts."""
    from omniembed.catalog import load_catalog
    from omniembed.runtimes import _freeze
    from omniembed.runtimes.compiled import artifact_path, build_tower

    module_name, _, function_name = load_catalog().families[request.family]["loader"].partition(":")
    adapter = getattr(importlib.import_module(module_name), function_name)(request)
    _freeze(adapter)
    built, errors = [], {}
    for modality, tower in adapter.towers().items():
        if artifact_path(request, modality).is_file() or tower.export_spec() is None:
            continue
        try:
            built.append(build_tower(tower, modality, request))
        except Exception as error:  # reported to the parent, which falls back or refuses
            logger.exception("building the %s tower failed", modality)
            errors[modality] = f"{type(error).__name__}: {error}"
    return built, errors


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, format="export: %(levelname)s %(name)s: %(message)s")
    logging.getLogger("omniembed").setLevel(logging.INFO)  # the int8 ladder's rungs, as before
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    request_path, result_path = Path(argv[0]), Path(argv[1])
    request = pickle.loads(request_path.read_bytes())  # written by our own parent, just now
    started = time.perf_counter()
    built, errors = build_all(request)
    record = {
        "pid": os.getpid(),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "seconds": round(time.perf_counter() - started, 2),
        "errors": errors,
    }
    for artifact in built:
        (artifact.parent / "export.json").write_text(json.dumps(record))
    result_path.write_text(json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

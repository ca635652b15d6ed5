"""Compiled runtimes export in a child process: the torch → ONNX export, the IR conversion and int8
calibration run in another pid whose memory goes back to the OS, and the server loads the cached
artifacts. The served vectors are those of an in-process export."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from omniembed.engine.bootstrap import load_model
from omniembed.models.registry import resolve
from omniembed.runtimes.compiled import artifact_path, build_tower
from tests.support.engines import images, texts
from tests.support.media import photo
from tests.support.parity import assert_parity

TEXTS = ["a photo of a cat", "x", "a much longer sentence about rockets, coffee and astronauts"]
PHOTOS = ["chelsea", "coffee", "rocket"]

# A fresh interpreter plays the server: loads the model on OpenVINO int8 into an empty models_dir
# and reports its own peak RSS, whether it imported NNCF, and the export records the child left.
PARENT = """
import json, os, sys
from pathlib import Path
from omniembed.engine.bootstrap import load_model
from omniembed.models.registry import resolve
from omniembed.runtimes.export import peak_rss_mb

models_dir = Path(sys.argv[2])
request = resolve(sys.argv[1], runtime="openvino", runtime_explicit=True, precision="int8",
                  models_dir=models_dir)
adapter = load_model(request)
records = [json.loads(p.read_text()) for p in models_dir.glob("compiled/*/export.json")]
print(json.dumps({"pid": os.getpid(), "peak_mb": peak_rss_mb(), "nncf": "nncf" in sys.modules,
                  "runtime": adapter.spec.runtime, "records": records}))
"""


def test_int8_export_and_calibration_run_in_a_child_process(tiny_clip_dir, tmp_path):
    command = [sys.executable, "-c", PARENT, str(tiny_clip_dir), str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["runtime"] == "openvino"
    assert len(found["records"]) == 2  # one per tower, from one child
    (child,) = {record["pid"] for record in found["records"]}
    assert child != found["pid"]
    assert not found["nncf"]  # calibration never ran in the server process
    child_peak = max(record["peak_rss_mb"] for record in found["records"])
    # With a tiny model both peaks are mostly libraries (torch, transformers, OpenVINO); the child
    # adds the exporter, NNCF and calibration on top. Measured: parent 915 MB, child 1034 MB.
    assert found["peak_mb"] < child_peak, (found["peak_mb"], child_peak)


@pytest.fixture(scope="module")
async def torch_reference(tiny_clip_dir):
    from omniembed.engine.engine import Engine

    engine = Engine()
    await engine.add(load_model(resolve(str(tiny_clip_dir), runtime="torch")))
    pictures = [photo(name) for name in PHOTOS]
    reference = {"text": await texts(engine, TEXTS), "image": await images(engine, pictures)}
    await engine.close()
    return reference


async def served(source: str, models_dir, precision: str) -> dict[str, np.ndarray]:
    from omniembed.engine.engine import Engine

    engine = Engine()
    request = resolve(
        source, runtime="openvino", runtime_explicit=True, precision=precision, models_dir=models_dir
    )
    await engine.add(load_model(request))
    found = {"text": await texts(engine, TEXTS), "image": await images(engine, [photo(n) for n in PHOTOS])}
    await engine.close()
    return found


def export_in_process(source: str, models_dir, precision: str) -> None:
    """What the server did before: build every tower's artifacts in this very process."""
    torch_adapter = load_model(resolve(source, runtime="torch"))
    request = resolve(
        source, runtime="openvino", runtime_explicit=True, precision=precision, models_dir=models_dir
    )
    for modality, tower in torch_adapter.towers().items():
        assert build_tower(tower, modality, request) == artifact_path(request, modality)


@pytest.mark.parametrize(("precision", "minimum"), [("fp32", 0.9999), ("int8", 0.99)])
async def test_served_vectors_equal_an_in_process_export(
    tiny_clip_dir, tmp_path, torch_reference, precision, minimum
):
    child_built = await served(str(tiny_clip_dir), tmp_path / "child", precision)
    records = list((tmp_path / "child").glob("compiled/*/export.json"))
    assert len(records) == 2  # built by the export child
    export_in_process(str(tiny_clip_dir), tmp_path / "here", precision)
    in_process = await served(str(tiny_clip_dir), tmp_path / "here", precision)
    assert not list((tmp_path / "here").glob("compiled/*/export.json"))  # loaded, not re-exported
    for modality in ("text", "image"):
        assert_parity(child_built[modality], torch_reference[modality], minimum)
        assert_parity(child_built[modality], in_process[modality], 0.9999)

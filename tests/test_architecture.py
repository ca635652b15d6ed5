"""Layering rules from DEVELOPERS.md, checked on the import graph."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "omniembed"


def imported_modules(directory: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in directory.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
        found[str(path.relative_to(PACKAGE))] = names
    return found


def test_api_never_imports_torch_or_models():
    for path, names in imported_modules(PACKAGE / "api").items():
        assert not any(n == "torch" or n.startswith("torch.") for n in names), path
        assert not any(n.startswith("omniembed.models.") and n != "omniembed.models.base" for n in names), (
            path
        )


def test_models_never_import_fastapi_or_higher_layers():
    for path, names in imported_modules(PACKAGE / "models").items():
        assert not any(n.split(".")[0] in ("fastapi", "starlette", "uvicorn") for n in names), path
        assert not any(
            n.startswith(("omniembed.api", "omniembed.engine", "omniembed.retrieval")) for n in names
        ), path


def test_engine_does_not_import_api():
    for path, names in imported_modules(PACKAGE / "engine").items():
        assert not any(n.startswith("omniembed.api") for n in names), path


def test_importing_the_app_does_not_load_torch():
    code = "import sys, omniembed.api.app; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "False"


def test_models_do_not_choose_runtimes():
    """Runtime choice belongs with the engine's bootstrap: loading a model never exports it."""
    for path, names in imported_modules(PACKAGE / "models").items():
        assert not any(n.startswith("omniembed.runtimes") for n in names), path


def test_runtime_backends_depend_on_the_protocol_not_on_each_other():
    modules = imported_modules(PACKAGE / "runtimes")
    for backend in ("onnx.py", "openvino.py"):
        assert "omniembed.runtimes.compiled" not in modules[f"runtimes/{backend}"]
    assert modules["runtimes/protocol.py"] <= {"__future__", "collections.abc", "numpy"}

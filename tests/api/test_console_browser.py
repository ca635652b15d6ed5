"""The web console end to end in a real headless Chromium against a real `omniembed serve`.

Browser and server run inside a private network namespace this test creates (`unshare --net`,
loopback only), so nothing Chromium's background services try can leave the machine. The scenario
itself is tests/support/console_browser.py; its screenshots stay in a pytest tmp folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create a network namespace"
    for tool in ("chromium", "unshare", "ip"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (scripts/test.sh installs it)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (the dev extra)"
    return None


@pytest.mark.skipif(_missing() is not None, reason=str(_missing()))
def test_console_in_a_real_browser(tmp_path, models_cache, starter_engine):  # starter fills the cache
    out = tmp_path / "console-screenshots"
    script = f'ip link set lo up && exec {sys.executable} -m tests.support.console_browser "$0" "$1"'
    command = ["unshare", "--net", "sh", "-c", script, str(out), str(models_cache)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=150)
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    print(f"console screenshots: {out}; steps ended at (s): {report.get('seconds')}")
    assert done.returncode == 0, f"{report.get('errors')}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert report["cat_search"][0] in {"chelsea.jpg", "notes.txt"}
    assert report["classify_top"] == "cat"
    assert {path.name for path in out.glob("*.png")} >= {"03-search-text.png", "05-playground.png"}

"""The web console's browser scenario, run as a script inside a private network namespace (see
tests/api/test_console_browser.py): a real `omniembed serve` with an API key, driven by the system
Chromium through Playwright. Writes screenshots and `report.json` to the folder it is given; exits
non-zero on the first failed step or on any JavaScript error.

python -m tests.support.console_browser OUT_DIR MODELS_DIR
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any

import httpx

from tests.support.media import encode
from tests.support.server import running_server
from tests.support.starter_set import load

KEY = "console-test-key"
CHROMIUM = "/usr/bin/chromium"
# Chromium's background services (updates, translation, safe browsing, ...) would try the internet;
# the namespace has no route out, and these keep them from trying.
FLAGS = [
    "--no-sandbox",  # root, in CI
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--no-pings",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
]
# The one expected network error: the first call, made before the user gave the key, answers 401.
EXPECTED = "the server responded with a status of 401"


def files(out: Path) -> dict[str, Path]:
    folder = out / "upload"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in ("chelsea", "coffee", "astronaut"):
        paths[name] = folder / f"{name}.jpg"
        paths[name].write_bytes(encode(load(name), quality=90))
    paths["notes"] = folder / "notes.txt"
    paths["notes"].write_text("Quarterly budget review: travel costs, invoices and the new office lease.\n")
    return paths


def scenario(page: Any, url: str, paths: dict[str, Path], out: Path, report: dict[str, Any]) -> None:
    def shot(name: str) -> None:
        page.screenshot(path=str(out / f"{name}.png"), full_page=True)

    page.goto(url)
    page.wait_for_selector("#key-dialog[open]", timeout=10_000)  # the first API call got a 401
    shot("01-key-dialog")
    page.fill("#key-input", KEY)
    page.click("#key-save")
    assert page.evaluate("sessionStorage.getItem('omniembed.apiKey')") == KEY
    assert page.evaluate("localStorage.length") == 0
    refused = page.evaluate("fetch('/v1/collections').then((r) => r.status)")
    assert refused == 401, refused  # the key lives in the console, not in the server's cookies

    page.click("#tab-collections")
    page.fill("#create-name", "photos")
    page.click("#create-go")
    page.wait_for_selector('#collection-rows tr[data-name="photos"]')
    page.set_input_files("#upload-files", [str(p) for p in paths.values()])
    page.wait_for_function("() => document.getElementById('upload-overall').value === 4", timeout=60_000)
    states = page.locator("#upload-list .state").all_inner_texts()
    assert all(state.startswith("done") for state in states), states
    page.wait_for_selector('#collection-rows tr[data-name="photos"] .count:text("4")')
    shot("02-collections")

    page.click("#tab-search")
    page.select_option("#search-collection", "photos")
    page.fill("#search-text", "a cat")
    page.click("#search-go")
    first_image = page.locator('#results li[data-modality="image"]').first
    first_image.locator("img[src^='blob:']").wait_for()
    report["cat_search"] = page.locator("#results li").evaluate_all("(l) => l.map((e) => e.dataset.id)")
    assert first_image.get_attribute("data-id") == "chelsea.jpg", report["cat_search"]
    assert first_image.locator("img").evaluate("(img) => img.decode().then(() => img.naturalWidth)") > 0
    shot("03-search-text")

    page.fill("#search-text", "")
    data = paths["coffee"].read_bytes().hex()
    transfer = page.evaluate_handle(
        """(hex) => {
            const bytes = new Uint8Array(hex.match(/../g).map((b) => parseInt(b, 16)));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "coffee.jpg", { type: "image/jpeg" }));
            return transfer;
        }""",
        data,
    )
    page.dispatch_event("#search-drop", "drop", {"dataTransfer": transfer})
    page.wait_for_function("() => document.querySelector('#results li')?.dataset.id === 'coffee.jpg'")
    shot("04-search-image")
    page.click('#results li[data-id="coffee.jpg"] button')
    page.wait_for_selector("#hit-dialog[open]")
    page.click("#hit-similar")  # more like this: the result's thumbnail becomes the query
    page.wait_for_selector("#hit-dialog", state="hidden")
    page.wait_for_function("() => document.querySelector('#results li')?.dataset.id === 'coffee.jpg'")

    page.click("#tab-playground")
    page.set_input_files("#play-files", [str(paths["chelsea"]), str(paths["coffee"])])
    page.click("#play-go")
    page.wait_for_selector(".heatmap tbody tr:nth-child(4) td:nth-child(5)")
    report["summary"] = page.inner_text("#play-summary")
    assert "dimensions" in report["summary"], report["summary"]
    page.set_input_files("#classify-file", str(paths["chelsea"]))
    page.click("#classify-go")
    page.wait_for_selector("#bars .bar")
    report["classify_top"] = page.locator("#bars .label").first.inner_text()
    assert report["classify_top"] == "cat", report["classify_top"]
    shot("05-playground")

    page.click("#tab-models")
    page.wait_for_selector("#model-rows th:text('omniembed/starter')")
    page.wait_for_selector("#health dt:text('Queue depth (items)')")
    shot("06-models")

    page.set_viewport_size({"width": 380, "height": 800})
    page.emulate_media(color_scheme="dark")
    page.click("#tab-search")
    page.click("#search-go")
    shot("07-narrow-dark")

    page.click("#tab-collections")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click('#collection-rows tr[data-name="photos"] button.danger')
    page.wait_for_selector('#collection-rows tr[data-name="photos"]', state="detached")


def main(out: Path, models_dir: Path) -> int:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    paths = files(out)
    report: dict[str, Any] = {"errors": [], "expected_401": 0}
    env = {
        "OMNIEMBED_API_KEYS": KEY,
        "OMNIEMBED_MODELS": "",
        "OMNIEMBED_MODEL": "",
        "OMNIEMBED_DATA_DIR": str(out / "collections"),  # never the user's collections
    }
    with running_server(["--models-dir", str(models_dir)], env=env, timeout=60, api_key=KEY) as server:
        assert httpx.get(f"{server.url}/v1/collections").status_code == 401
        assert httpx.get(f"{server.url}/").status_code == 200
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(20_000)

            def on_console(message: Any) -> None:
                if message.type == "error":
                    if EXPECTED in message.text:
                        report["expected_401"] += 1
                    else:
                        report["errors"].append(f"console: {message.text} {message.location}")

            page.on("console", on_console)
            page.on("pageerror", lambda error: report["errors"].append(f"pageerror: {error}"))
            try:
                scenario(page, server.url, paths, out, report)
            except Exception:
                report["errors"].append(traceback.format_exc())
                page.screenshot(path=str(out / "failure.png"), full_page=True)
            finally:
                browser.close()
    (out / "report.json").write_text(json.dumps(report, indent=2))
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))

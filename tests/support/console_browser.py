"""The web console's browser scenario, run as a script inside a private network namespace (see
tests/api/test_console_browser.py): a real `omniembed serve` with an API key, driven by the system
Chromium through Playwright. Writes screenshots and `report.json` to the folder it is given; exits
non-zero on the first failed step or on any JavaScript error.

python -m tests.support.console_browser OUT_DIR MODELS_DIR
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
import traceback
import wave
from pathlib import Path
from typing import Any

import httpx

from tests.support.media import encode, video_path
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
    trip = folder / "trip"  # dropped as a folder: its files' ids and metadata carry "trip/"
    trip.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in ("chelsea", "coffee", "astronaut"):
        paths[name] = folder / f"{name}.jpg"
        paths[name].write_bytes(encode(load(name), quality=90))
    paths["notes"] = folder / "notes.txt"
    paths["notes"].write_text("Quarterly budget review: travel costs, invoices and the new office lease.\n")
    (trip / "rocket.jpg").write_bytes(encode(load("rocket"), quality=90))
    (trip / "horse.jpg").write_bytes(encode(load("horse"), quality=90))
    (trip / "diary.txt").write_text("Day one of the trip: a rocket launch, then a horse ride.\n")
    paths["trip"] = trip
    paths["video"] = out / "carphone.mp4"
    shutil.copyfile(video_path("carphone_distorted.mp4"), paths["video"])
    paths["sound"] = out / "tone.wav"
    with wave.open(str(paths["sound"]), "wb") as sound:  # half a second of silence: a real WAV file
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(16_000)
        sound.writeframes(b"\0\0" * 8_000)
    return paths


def drop_folder(page: Any, selector: str, folder: Path) -> None:
    """A real folder drop: Chromium's own drag events with a path, so the page walks real entries."""
    zone = page.locator(selector)
    zone.scroll_into_view_if_needed()
    box = zone.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    session = page.context.new_cdp_session(page)
    data = {"items": [], "files": [str(folder)], "dragOperationsMask": 1}
    for kind in ("dragEnter", "dragOver", "drop"):
        session.send("Input.dispatchDragEvent", {"type": kind, "x": x, "y": y, "data": data})
    session.detach()


def folders_and_items(page: Any, paths: dict[str, Path], shot: Any) -> None:
    """A folder drop with per-file progress, a video by the chooser, disk use, the item browser."""
    page.click("#tab-collections")
    page.select_option("#upload-collection", "photos")
    drop_folder(page, "#upload-drop", paths["trip"])
    done = (
        "(n) => [...document.querySelectorAll('#upload-list .state')]"
        ".filter((s) => s.textContent.startsWith('done')).length === n"
    )
    page.wait_for_function(done, arg=3, timeout=60_000)
    rows = page.locator("#upload-list li").evaluate_all(
        "(l) => l.map((e) => [e.dataset.file, e.querySelector('progress').value])"
    )
    assert sorted(rows) == [["trip/diary.txt", 1], ["trip/horse.jpg", 1], ["trip/rocket.jpg", 1]], rows
    assert page.evaluate("document.getElementById('upload-overall').value") == 3
    page.set_input_files("#upload-files", str(paths["video"]))
    page.wait_for_function(done, arg=1, timeout=60_000)
    page.wait_for_selector('#collection-rows tr[data-name="photos"] .count:text("8")')
    disk = page.inner_text('#collection-rows tr[data-name="photos"] .disk')
    assert re.fullmatch(r"[0-9.]+ (B|KB|MB)", disk), disk

    pictured = (  # how many items are listed, once each is of this kind and shows its thumbnail
        "(kind) => { const l = [...document.querySelectorAll('#items li')]; return l.length && l.every("
        "(e) => e.dataset.modality === kind && e.querySelector('img')?.src.startsWith('blob:'))&&l.length; }"
    )
    page.select_option("#items-modality", "image")
    assert page.wait_for_function(pictured, arg="image").json_value() == 5
    page.select_option("#items-modality", "video")  # a video's thumbnail is a key frame
    assert page.wait_for_function(pictured, arg="video").json_value() == 1
    page.select_option("#items-modality", "")
    page.wait_for_function("() => document.querySelectorAll('#items li').length === 8")
    shot("08-items")
    page.check('#items li[data-id="trip/horse.jpg"] input')
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.click("#items-delete")
    page.wait_for_selector('#items li[data-id="trip/horse.jpg"]', state="detached")
    page.wait_for_selector('#collection-rows tr[data-name="photos"] .count:text("7")')
    assert asked == ["Delete 1 item from photos?"], asked
    page.set_input_files("#upload-folder", str(paths["trip"]))  # the folder chooser: same ids, replaced
    page.wait_for_function(done, arg=3, timeout=60_000)
    assert sorted(page.locator("#upload-list li").evaluate_all("(l) => l.map((e) => e.dataset.file)")) == [
        "trip/diary.txt",
        "trip/horse.jpg",
        "trip/rocket.jpg",
    ]
    page.wait_for_selector('#collection-rows tr[data-name="photos"] .count:text("8")')


def paging(page: Any, url: str) -> None:
    """The item browser pages by 50: a collection of 55 texts shows "Load more" once."""
    headers = {"Authorization": f"Bearer {KEY}"}
    assert httpx.post(f"{url}/v1/collections", json={"name": "many"}, headers=headers).status_code == 201
    items = [{"id": f"line-{index:02d}", "text": f"line number {index}"} for index in range(55)]
    added = httpx.post(f"{url}/v1/collections/many/items", json={"items": items}, headers=headers, timeout=60)
    assert added.status_code == 200, added.text
    page.click("#tab-search")
    page.click("#tab-collections")
    page.select_option("#upload-collection", "many")
    page.wait_for_function("() => document.querySelectorAll('#items li').length === 50")
    page.click("#items-more")
    page.wait_for_function("() => document.querySelectorAll('#items li').length === 55")
    assert page.is_hidden("#items-more")
    page.select_option("#upload-collection", "photos")


def search_more(page: Any, paths: dict[str, Path], report: dict[str, Any], shot: Any) -> None:
    """Metadata filters (string and number), details on hover and click, a video query, an audio refusal."""
    ids = "() => [...document.querySelectorAll('#results li')].map((e) => e.dataset.id)"
    page.click("#tab-search")
    page.click("#search-clear")  # the last query's picture: this one is words only
    page.select_option("#search-collection", "photos")
    page.fill("#search-text", "a rocket")
    page.click("#search-go")
    page.wait_for_function(f"() => ({ids})().some((id) => !id.startsWith('trip/'))")
    page.click("#filter-add")
    page.fill("#filter-rows .filter:nth-child(1) .filter-key", "folder")
    page.fill("#filter-rows .filter:nth-child(1) .filter-value", "trip")
    page.click("#search-go")
    page.wait_for_function(
        f"() => {{ const l = ({ids})(); return l.length && l.every((id) => id.startsWith('trip/')); }}"
    )
    report["filtered"] = page.evaluate(ids)
    assert sorted(report["filtered"]) == ["trip/diary.txt", "trip/horse.jpg", "trip/rocket.jpg"], report[
        "filtered"
    ]
    assert '"folder":"trip"' in page.get_attribute('#results li[data-id="trip/rocket.jpg"] button', "title")
    page.click("#filter-add")  # chunk = 0 is the number 0: only the text item matches
    page.fill("#filter-rows .filter:nth-child(2) .filter-key", "chunk")
    page.fill("#filter-rows .filter:nth-child(2) .filter-value", "0")
    page.click("#search-go")
    page.wait_for_function(f"() => ({ids})().join() === 'trip/diary.txt'")
    page.click('#results li[data-id="trip/diary.txt"] button')
    details = json.loads(page.inner_text("#hit-details"))
    assert details["metadata"] == {"file": "trip/diary.txt", "folder": "trip", "chunk": 0}, details
    page.click("#hit-close")
    shot("09-filters")
    page.click('button[aria-label="Remove filter 2"]')
    page.click('button[aria-label="Remove filter 1"]')
    assert page.locator("#filter-rows .filter").count() == 0

    page.fill("#search-text", "")
    page.set_input_files("#search-file", str(paths["video"]))  # the video finds itself first
    page.wait_for_function(f"() => ({ids})()[0] === 'carphone.mp4'")
    page.locator('#results li[data-id="carphone.mp4"] img[src^="blob:"]').wait_for()
    page.click("#search-clear")
    page.set_input_files("#search-file", str(paths["sound"]))
    page.wait_for_selector("#status.error:has-text('cannot search by audio')")


def playground_more(page: Any, paths: dict[str, Path], report: dict[str, Any]) -> None:
    """A video among the inputs, an audio file refused, sizes by output type."""
    page.set_input_files("#play-files", str(paths["video"]))
    page.wait_for_selector('#play-images li[data-kind="video"]')
    page.set_input_files("#play-files", str(paths["sound"]))
    page.wait_for_selector("#status.error:has-text('cannot embed tone.wav')")
    page.click("#play-go")
    page.wait_for_selector(".heatmap tbody tr:nth-child(5) td:nth-child(6)")
    dimension = int(re.search(r"of (\d+) dimensions", page.inner_text("#play-summary")).group(1))
    report["dimension"] = dimension
    expected = {"float": dimension * 4, "int8": dimension, "binary": dimension // 8}
    for kind, size in expected.items():
        page.check(f'input[name="output"][value="{kind}"]')
        page.wait_for_function(
            "(s) => document.getElementById('play-summary').textContent.includes(s)",
            arg=f"as {kind}, {size} bytes each",
        )
        cells = page.locator(f'#size-rows tr[data-type="{kind}"] td').all_inner_texts()
        assert cells == [str(size), str(size * 5)], (kind, cells)
        assert page.get_attribute(f'#size-rows tr[data-type="{kind}"]', "class") == "chosen"


def latency(page: Any, shot: Any) -> None:
    """Exact recent percentiles per route; the histogram's bounds when a server has no summary."""
    row = '#latency-rows tr[data-route="/v1/embeddings"]'
    page.wait_for_selector(row)
    cells = page.locator(f"{row} td").all_inner_texts()
    assert int(cells[0]) >= 4 and all(re.fullmatch(r"[0-9.]+ ms", cell) for cell in cells[1:]), cells
    shot("06-models")

    def without_summary(route: Any) -> None:
        response = route.fetch()
        kept = [line for line in response.text().splitlines() if "request_recent_seconds" not in line]
        route.fulfill(response=response, body="\n".join(kept) + "\n")

    page.route("**/metrics", without_summary)
    page.click("#tab-search")
    page.click("#tab-models")
    page.wait_for_selector("#latency-rows th:text('all routes (histogram bounds)')")
    assert all(cell.startswith("≤") for cell in page.locator("#latency-rows td").all_inner_texts()[1:])
    page.unroute("**/metrics")


def scenario(page: Any, url: str, paths: dict[str, Path], out: Path, report: dict[str, Any]) -> None:
    started = time.monotonic()

    def shot(name: str) -> None:  # also when each step ended, to see where the test's time goes
        page.screenshot(path=str(out / f"{name}.png"), full_page=True)
        report["seconds"][name] = round(time.monotonic() - started, 1)

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
    uploads = [paths[name] for name in ("chelsea", "coffee", "astronaut", "notes")]
    page.set_input_files("#upload-files", [str(p) for p in uploads])
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
    folders_and_items(page, paths, shot)
    paging(page, url)
    search_more(page, paths, report, shot)

    page.click("#tab-playground")
    page.set_input_files("#play-files", [str(paths["chelsea"]), str(paths["coffee"])])
    page.wait_for_selector("#play-images li:nth-child(2)")  # files are read asynchronously
    page.click("#play-go")
    page.wait_for_selector(".heatmap tbody tr:nth-child(4) td:nth-child(5)")
    report["summary"] = page.inner_text("#play-summary")
    assert "dimensions" in report["summary"], report["summary"]
    page.set_input_files("#classify-file", str(paths["chelsea"]))
    page.click("#classify-go")
    page.wait_for_selector("#bars .bar")
    report["classify_top"] = page.locator("#bars .label").first.inner_text()
    assert report["classify_top"] == "cat", report["classify_top"]
    playground_more(page, paths, report)
    shot("05-playground")

    page.click("#tab-models")
    page.wait_for_selector("#model-rows th:text('omniembed/starter')")
    page.wait_for_selector("#health dt:text('Queue depth (items)')")
    latency(page, shot)

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
    report: dict[str, Any] = {"errors": [], "expected_401": 0, "seconds": {}}
    env = {
        "OMNIEMBED_API_KEYS": KEY,
        "OMNIEMBED_MODELS": "",
        "OMNIEMBED_MODEL": "",
        "OMNIEMBED_DATA_DIR": str(out / "collections"),  # never the user's collections
    }
    began = time.monotonic()
    with running_server(["--models-dir", str(models_dir)], env=env, timeout=60, api_key=KEY) as server:
        report["seconds"]["server-ready"] = round(time.monotonic() - began, 1)
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
                report["errors"].append(f"status line: {page.inner_text('#status')}")
                page.screenshot(path=str(out / "failure.png"), full_page=True)
            finally:
                browser.close()
        report["seconds"]["browser-closed"] = round(time.monotonic() - began, 1)
    report["seconds"]["server-stopped"] = round(time.monotonic() - began, 1)
    (out / "report.json").write_text(json.dumps(report, indent=2))
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))

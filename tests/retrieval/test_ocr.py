"""OCR text of images is stored and searchable by keyword (rapidocr-onnxruntime, shipped models)."""

from __future__ import annotations

import threading

from PIL import Image, ImageDraw, ImageFont

from omniembed.media.payload import MediaReference
from omniembed.retrieval import ocr
from omniembed.retrieval.service import CollectionItem
from tests.support.media import encode, photo

SECRET = "INVOICE 8431-ZQ"


def screenshot(line: str) -> Image.Image:
    canvas = Image.new("RGB", (640, 200), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=36)
    draw.text((30, 70), line, fill="black", font=font)
    return canvas


def test_ocr_reads_rendered_text():
    from omniembed.retrieval.ocr import read_text

    assert "8431-ZQ" in read_text(screenshot(SECRET)).replace(" ", " ")


async def test_ocr_text_is_indexed_for_keyword_search(service, monkeypatch):
    await service.create("shots", "tiny-clip", use_ocr=True)
    items = [
        CollectionItem(
            id="invoice", modality="image", media=MediaReference(data=encode(screenshot(SECRET), "PNG"))
        ),
        CollectionItem(
            id="other",
            modality="image",
            media=MediaReference(data=encode(screenshot("Meeting notes"), "PNG")),
        ),
        CollectionItem(id="cat", modality="image", media=MediaReference(data=encode(photo("chelsea")))),
    ]
    # OCR decodes off the event loop with its decode memory reserved, like the engine's images.
    budget, seen = service.engine.decode_budget, []
    real_read_text = ocr.read_text

    def read_text(image):
        seen.append((threading.current_thread() is threading.main_thread(), budget.in_use))
        return real_read_text(image)

    monkeypatch.setattr(ocr, "read_text", read_text)
    await service.add("shots", items)
    assert seen and all(not on_main and reserved > 0 for on_main, reserved in seen), seen
    [stored] = await service.retrieve("shots", ["invoice"])
    assert "8431-ZQ" in stored.payload["ocr_text"]
    hits = await service.search("shots", text="8431-ZQ", top_k=1, mode="keyword")
    assert hits[0].id == "invoice" and "8431" in (hits[0].text or "")
    hybrid = await service.search("shots", text="invoice 8431-ZQ", top_k=1, mode="hybrid")
    assert hybrid[0].id == "invoice"

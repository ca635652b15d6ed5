"""PDF pages as images for visual-document retrieval: each page rendered with PDFium (pypdfium2)
and paired with the page's text layer, which keyword / sparse search reads.

The limits below bound what one untrusted PDF can cost. They are module constants for now; they
belong in settings.py as `pdf_max_pages`, `pdf_render_dpi`, `pdf_max_page_pixels` and
`pdf_max_page_chars`.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omniembed.errors import MediaDecodeError

log = logging.getLogger(__name__)

MAX_PAGES = 500  # pages indexed per PDF; the rest are left out (and said so)
RENDER_DPI = 144  # twice PDF's 72 points per inch: small print stays legible to a page retriever
# Longest side of a rendered page: page retrievers resize to well under this (ColPali 448,
# ColQwen2 up to ~1,800 px), and a PDF may declare a page of 200 x 200 inches.
MAX_SIDE_PIXELS = 2_048
MAX_PAGE_CHARS = 32_768  # text layer kept per page (payload and sparse terms)


@dataclass(frozen=True)
class Page:
    number: int  # 1-based, as readers cite pages
    png: bytes
    text: str


def page_count(path: Path) -> int:
    pdf = _open(path)
    try:
        return len(pdf)
    finally:
        pdf.close()


def render_pages(path: Path | bytes, max_pages: int = MAX_PAGES) -> Iterator[Page]:
    """The first `max_pages` pages of a PDF file (or of its bytes, as `omniembed.ray` reads them
    from an object store), in order; a damaged PDF or page is a MediaDecodeError."""
    import pypdfium2 as pdfium

    pdf = _open(path)
    try:
        total = len(pdf)
        if total > max_pages:
            where = path if isinstance(path, Path) else "a PDF"
            log.warning("%s: %d pages; indexing the first %d", where, total, max_pages)
        for index in range(min(total, max_pages)):
            try:
                yield _page(pdf, index)
            except pdfium.PdfiumError as error:
                raise MediaDecodeError(f"Cannot render page {index + 1} of the PDF: {error}") from error
    finally:
        pdf.close()


def _open(path: Path | bytes) -> Any:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(path if isinstance(path, bytes) else str(path))
    except pdfium.PdfiumError as error:  # not a PDF, damaged, or password-protected
        raise MediaDecodeError(f"Cannot open the PDF: {error}") from error


def _page(pdf: Any, index: int) -> Page:
    page = pdf[index]
    try:
        width, height = page.get_size()
        if not (width > 0 and height > 0):
            raise MediaDecodeError(f"Page {index + 1} of the PDF has no area ({width} x {height} pt).")
        scale = min(RENDER_DPI / 72, MAX_SIDE_PIXELS / max(width, height))
        image = page.render(scale=scale).to_pil().convert("RGB")
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")  # lossless: what the model sees is what was rendered
        textpage = page.get_textpage()
        try:
            text = textpage.get_text_range()[:MAX_PAGE_CHARS]
        finally:
            textpage.close()
        return Page(number=index + 1, png=buffer.getvalue(), text=_clean(text))
    finally:
        page.close()


def _clean(text: str) -> str:
    # PDFium ends lines with CR LF and may yield NULs or lone surrogates from broken font maps.
    cleaned = text.replace("\r\n", "\n").replace("\x00", "")
    return cleaned.encode("utf-8", errors="replace").decode("utf-8")

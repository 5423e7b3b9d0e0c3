"""Documents: Markdown -> HTML (markdown-it-py, raw HTML off), Markdown/HTML -> PDF (WeasyPrint).

WeasyPrint is imported only when a PDF is rendered, and the PDF targets are registered only when it
loads (native.pdf_available): without Debian's pango the app still imports and offers HTML.

WeasyPrint gets a URL fetcher that allows only `data:` URLs and no redirects, so a document cannot
make the worker read local files or reach the network (GHSA-jf6q-chmf-3h3v, GHSA-983w-rhvv-gwmv).
"""

from __future__ import annotations

import html
from typing import IO, Any

from markdown_it import MarkdownIt

from .. import native
from .base import ConversionFailed, Converter, Progress

PDF_OPTIONS: dict[str, dict[str, Any]] = {
    "page_size": {"type": "string", "enum": ["A4", "Letter", "Legal", "A5"], "default": "A4"},
}
HTML_OPTIONS: dict[str, dict[str, Any]] = {}
PAGE_CSS = "@page {{ size: {size}; margin: 2cm }} body {{ font-family: DejaVu Sans, sans-serif; font-size: 11pt }}"


def _text(src: IO[bytes]) -> str:
    try:
        return src.read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConversionFailed("corrupt_file", f"The document is not UTF-8: {exc}") from exc


def markdown_render(text: str) -> str:
    """Markdown to an HTML fragment. The `js-default` preset escapes raw HTML (commonmark passes it)."""
    return MarkdownIt("js-default").enable("table").render(text)


def _page(body: str, title: str = "Document") -> str:
    return (
        f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f"<body>\n{body}</body></html>\n"
    )


def _markdown_to_html(src: IO[bytes], dst: IO[bytes], options: dict[str, Any], progress: Progress) -> dict[str, Any]:
    page = _page(markdown_render(_text(src)))
    dst.write(page.encode())
    return {}


def _pdf(document_html: str, dst: IO[bytes], options: dict[str, Any], progress: Progress) -> dict[str, Any]:
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"}, allow_redirects=False)
    progress(20)
    try:
        document = HTML(string=document_html, url_fetcher=fetcher, base_url=None).render(
            stylesheets=[CSS(string=PAGE_CSS.format(size=options["page_size"]), url_fetcher=fetcher)]
        )
    except Exception as exc:  # WeasyPrint raises assorted types on hostile input
        raise ConversionFailed("render_failed", f"The document cannot be rendered: {exc}") from exc
    progress(70)
    document.write_pdf(target=dst)
    return {"pages": len(document.pages)}


def _markdown_to_pdf(src: IO[bytes], dst: IO[bytes], options: dict[str, Any], progress: Progress) -> dict[str, Any]:
    return _pdf(_page(markdown_render(_text(src))), dst, options, progress)


def _html_to_pdf(src: IO[bytes], dst: IO[bytes], options: dict[str, Any], progress: Progress) -> dict[str, Any]:
    return _pdf(_text(src), dst, options, progress)


def converters() -> list[Converter]:
    pdf = native.pdf_available()
    found = []
    for source in ("text/markdown", "text/plain"):
        found.append(Converter("document", source, "html", "text/html", _markdown_to_html, HTML_OPTIONS))
        if pdf:
            found.append(Converter("document", source, "pdf", "application/pdf", _markdown_to_pdf, PDF_OPTIONS))
    if pdf:
        found.append(Converter("document", "text/html", "pdf", "application/pdf", _html_to_pdf, PDF_OPTIONS))
    return found

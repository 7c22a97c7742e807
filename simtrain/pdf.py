"""HTML to PDF with WeasyPrint, for the printable pack and the after-action report.

The same templates serve the print page and the PDF, with print CSS. Static files
(the stylesheet, images) are read from disk through the staticfiles finders, so a PDF
needs no network and no running server.
"""

from __future__ import annotations

from urllib.parse import urlparse

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse


def _local_file(url: str) -> str:
    """The file on disk for a /static/... URL; refuse anything else (no network)."""
    path = urlparse(url).path
    static = "/" + settings.STATIC_URL.lstrip("/")
    if path.startswith(static):
        found = finders.find(path[len(static):])
        if found:
            return "file://" + found
    raise ValueError(f"refused to fetch {url!r} while rendering a PDF")


def _fetcher():
    """A URL fetcher for the WeasyPrint installed: a function before v68, an object since."""
    import weasyprint

    if hasattr(weasyprint, "default_url_fetcher"):  # WeasyPrint < 68
        return lambda url: weasyprint.default_url_fetcher(_local_file(url))

    from weasyprint.urls import URLFetcher

    class LocalFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            return super().fetch(_local_file(url), headers)

    return LocalFetcher(allowed_protocols={"file"})


def html_to_pdf(html: str, *, base_url: str = "http://localhost/") -> bytes:
    import weasyprint  # imported lazily: it loads pango

    return weasyprint.HTML(string=html, base_url=base_url, url_fetcher=_fetcher()).write_pdf()


def pdf_response(html: str, *, filename: str, base_url: str = "http://localhost/") -> HttpResponse:
    response = HttpResponse(html_to_pdf(html, base_url=base_url), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response

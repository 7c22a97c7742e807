"""Scenario markdown is rendered inert, whatever an author (or an attacker) writes."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from simtrain.markdown import render_markdown

SAFE_TAGS = {"p", "br", "hr", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li",
             "h1", "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th",
             "td"}


class Elements(HTMLParser):
    """Every element and attribute the browser would build from the HTML."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict]]:
    parser = Elements()
    parser.feed(html)
    return parser.found

HOSTILE = [
    "<script>alert(1)</script>",
    "[clic](javascript:alert(1))",
    "[clic](JaVaScRiPt:alert(1))",
    "[clic](  javascript:alert(1))",
    '<img src=x onerror="alert(1)">',
    '<a href="#" onclick="alert(1)">x</a>',
    '<svg><script>alert(1)</script></svg>',
    '<svg onload="alert(1)"></svg>',
    "![x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](data:text/html,<script>alert(1)</script>)",
    '<iframe src="https://evil.example"></iframe>',
    "<style>body{display:none}</style>",
    '<div style="position:fixed">x</div>',
    "[x](vbscript:msgbox(1))",
]


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_markdown_renders_inert(source):
    html = render_markdown(source)
    for tag, attrs in elements(html):
        assert tag in SAFE_TAGS, (source, html)
        assert not any(name.startswith("on") or name == "style" for name in attrs), html
        for name in ("href", "src"):
            url = (attrs.get(name) or "").strip().lower()
            assert not url or url.startswith(("http://", "https://", "mailto:", "#", "/")), html


def test_ordinary_markdown_survives():
    html = render_markdown("**Attention** : voir [le PV](https://example.org/pv).\n\n- un\n- deux")
    assert "<strong>Attention</strong>" in html
    assert 'href="https://example.org/pv"' in html and 'rel="noopener noreferrer nofollow"' in html
    assert "<li>un</li>" in html


def test_aligned_tables_carry_classes_not_inline_styles():
    """An inline style trips the CSP (style-src 'self'): alignment is a class."""
    html = render_markdown("| a | b | c | d |\n|:--|:-:|--:|---|\n| 1 | 2 | 3 | 4 |\n")
    cells = [(tag, attrs) for tag, attrs in elements(html) if tag in ("th", "td")]
    assert not any("style" in attrs for _, attrs in cells)
    assert [attrs.get("class") for tag, attrs in cells if tag == "th"] == [
        "align-left", "align-center", "align-right", None]


def test_an_author_cannot_smuggle_other_classes_or_styles():
    html = render_markdown('<td class="evil" style="x">a</td>\n\n| a |\n|---|\n| b |\n')
    found = elements(html)
    assert all(set(attrs) <= {"class"} for tag, attrs in found if tag in ("th", "td"))
    assert not any("style" in attrs or attrs.get("class") == "evil" for _, attrs in found)

"""CommonMark rendering with the output sanitised by nh3 (ammonia).

Scenario authors write markdown; trainees and actors read it. Raw HTML in the source
is not rendered (markdown-it's `html` option is off) and whatever HTML the renderer
produces goes through an allow-list, so links cannot be `javascript:` and no
attribute can carry an event handler. Table cells say their alignment with a class
(`align-left` …), not a `style` attribute: the Content-Security-Policy refuses inline
styles, and would drop the alignment (and report a violation) on every aligned table.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

_ALLOWED_TAGS = {
    "p", "br", "hr", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th", "td",
}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
_ALIGN_CLASSES = {f"text-align:{side}": f"align-{side}" for side in ("left", "center", "right")}
_ALLOWED_CLASSES = {tag: set(_ALIGN_CLASSES.values()) for tag in ("th", "td")}


def render_markdown(text: str | None) -> str:
    if not text:
        return ""
    tokens = _md.parse(text)
    for token in tokens:
        if token.type in ("th_open", "td_open") and "style" in token.attrs:
            align = _ALIGN_CLASSES.get(str(token.attrs.pop("style")).replace(" ", ""))
            if align:
                token.attrs["class"] = align
    html = _md.renderer.render(tokens, _md.options, {})
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        allowed_classes=_ALLOWED_CLASSES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )

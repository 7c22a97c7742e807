"""Helpers for the replay and review tests: reading regions out of HTML, a scripted session."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
import tinyhtml5
from django.core.cache import cache

from scenarios.models import Objective
from sessions import engine, layout
from sessions.engine import due
from tests.sessions.conftest import seat_up

OOB = re.compile(r'\s*hx-swap-oob="[^"]*"')


@pytest.fixture(autouse=True)
def fresh_caches():
    """Rolled-back tests reuse ids: per-version caches and rendered regions must go."""

    def forget():
        due.forget_versions()
        layout.forget_caches()
        cache.clear()

    forget()
    yield
    forget()


class _Regions(HTMLParser):
    """The outer HTML of every element whose id is `region-NAME` (not nested ones)."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=False)
        self.text = text
        self.starts = [0]
        for line in text.splitlines(keepends=True):
            self.starts.append(self.starts[-1] + len(line))
        self.found: dict[str, str] = {}
        self.current: list | None = None  # [name, tag, start offset, depth]

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.starts[line - 1] + column

    def handle_starttag(self, tag, attrs):
        if self.current is not None:
            if tag == self.current[1]:
                self.current[3] += 1
            return
        ident = dict(attrs).get("id") or ""
        if ident.startswith("region-"):
            self.current = [ident[len("region-"):], tag, self._offset(), 1]

    def handle_endtag(self, tag):
        if self.current is None or tag != self.current[1]:
            return
        self.current[3] -= 1
        if self.current[3] == 0:
            end = self._offset() + len(f"</{tag}>")
            self.found[self.current[0]] = self.text[self.current[2]:end]
            self.current = None


def regions_in(html: str) -> dict[str, str]:
    parser = _Regions(html)
    parser.feed(html)
    parser.close()
    return parser.found


def normalise(html: str) -> str:
    """Whitespace collapsed, and the out-of-band attribute (the only live/fresh difference)
    removed."""
    html = OOB.sub("", html)
    html = re.sub(r"\s+", " ", html)
    return re.sub(r"\s+>", ">", html).strip()


# --- A browser's screen, as htmx changes it ------------------------------------------------------


def _elements(html: str) -> list[ET.Element]:
    body = tinyhtml5.parse(f"<body>{html}", namespace_html_elements=False).find("body")
    return list(body)


def canonical(html: str | ET.Element) -> str:
    """One serialisation for HTML however it was built: parsed, out-of-band attributes
    dropped, whitespace between tags removed and collapsed elsewhere."""
    roots = _elements(html) if isinstance(html, str) else [html]
    text = []
    for root in roots:
        for element in root.iter():
            element.attrib.pop("hx-swap-oob", None)
        text.append(ET.tostring(root, encoding="unicode", method="html"))
    joined = re.sub(r">\s+<", "><", "".join(text))
    return re.sub(r"\s+", " ", joined).strip()


class Screen:
    """The regions of one page, changed by live frames the way htmx applies them:
    `hx-swap-oob="true"` replaces the element with that id, `afterbegin:#id` and
    `beforeend:#id` insert the fragment's children, `delete` removes the element. A
    frame that names an element the page lacks fails the test instead of being ignored
    (htmx would drop it silently)."""

    def __init__(self, regions: dict[str, str]):
        self.roots = {name: _elements(html)[0] for name, html in regions.items()}

    def apply(self, frame: str, *, ignore: tuple[str, ...] = ("feed", "toasts", "clock")) -> None:
        for element in _elements(frame):
            spec = element.attrib.pop("hx-swap-oob", None)
            if spec is None:
                continue
            style, _, selector = spec.partition(":")
            ident = selector.removeprefix("#") if selector else element.get("id", "")
            if style == "true":
                style = "outerHTML"
            if ident in ignore:
                continue
            found = self._find(ident)
            assert found is not None, f"the frame targets #{ident}, not on this page"
            parent, target = found
            if style == "outerHTML":
                if parent is None:
                    name = next(n for n, root in self.roots.items() if root is target)
                    self.roots[name] = element
                else:
                    element.tail = target.tail
                    parent[list(parent).index(target)] = element
            elif style == "afterbegin":
                children = list(element)
                if children:
                    children[-1].tail = (children[-1].tail or "") + (target.text or "")
                    target.text = element.text
                    for index, child in enumerate(children):
                        target.insert(index, child)
            elif style == "beforeend":
                for child in element:
                    target.append(child)
            elif style == "delete":
                assert parent is not None, f"#{ident} is a region, not an entry"
                parent.remove(target)
            else:
                raise AssertionError(f"swap style {style!r} is not modelled")

    def _find(self, ident: str):
        for root in self.roots.values():
            if root.get("id") == ident:
                return None, root
            for parent in root.iter():
                for child in parent:
                    if child.get("id") == ident:
                        return parent, child
        return None

    def html(self, name: str) -> str:
        return canonical(self.roots[name])

    def regions(self) -> dict[str, str]:
        return {name: self.html(name) for name in self.roots}


def add_objective(version, ident: str = "obj", title: str = "Objectif", **fields) -> Objective:
    return Objective.objects.create(version=version, ident=ident, order=fields.pop("order", 0),
                                    title=title, **fields)


def play_script(session, boss, seated, wall, *, moment=None) -> None:
    """A short exercise touching every region; `moment()` is called at checkpoints."""
    moment = moment or (lambda: None)
    sid = session.pk
    engine.session_start(session_id=sid, principal=boss)
    moment()
    wall.advance(31)
    engine.scheduler_tick(session_id=sid)  # cue1 → joy
    engine.message_send(session_id=sid, principal=seated["parquet"], to_role="police",
                        text="Bonjour, ici le parquet.")
    wall.advance(30)
    engine.scheduler_tick(session_id=sid)  # call → police
    call = session.events.get(kind="inject.fired", payload__inject="call")
    engine.item_open(session_id=sid, principal=seated["police"], item=call.seq)
    engine.action_take(session_id=sid, principal=seated["police"], action_ident="interprete")
    engine.note_private(session_id=sid, principal=seated["police"], text="Penser à l'OPP.")
    engine.note_add(session_id=sid, principal=boss, text="Bonne réaction de la police.")
    moment()
    wall.advance(61)
    engine.scheduler_tick(session_id=sid)  # followup, dec → parquet
    engine.decision_answer(session_id=sid, principal=seated["parquet"], inject_ident="dec",
                           option="opp", rationale="Minorité probable.")
    engine.cue_acknowledge(session_id=sid, principal=seated["joy"], inject_ident="cue1")
    engine.message_send(session_id=sid, principal=seated["police"], to_role="parquet",
                        text="Bien reçu, on place.")
    moment()
    wall.advance(5)
    engine.decision_reopen(session_id=sid, principal=boss, inject_ident="dec",
                           role_ident="parquet")
    engine.safety_stop(session_id=sid, principal=seated["joy"], note="Pause, svp.")
    engine.session_pause(session_id=sid, principal=boss)
    engine.message_send(session_id=sid, principal=seated["police"], to_role="parquet",
                        text="Pendant la pause.")
    moment()
    wall.advance(20)
    engine.session_resume(session_id=sid, principal=boss)
    wall.advance(3)
    engine.decision_answer(session_id=sid, principal=seated["parquet"], inject_ident="dec",
                           option="gav", rationale="Finalement, garde à vue.")
    wall.advance(600)
    engine.scheduler_tick(session_id=sid)  # late-phase → police
    engine.objective_rate(session_id=sid, principal=seated["obs"], objective_ident="obj",
                          level=3, comment="Solide.")
    moment()
    wall.advance(10)
    engine.session_end(session_id=sid, principal=boss)
    engine.debrief_add(session_id=sid, principal=boss, kind="plus", text="Coordination.")
    moment()


NAMES = {"police": "Chloé Bernard", "parquet": "Nadia Benali", "joy": "Ada Obi",
         "obs": "Olivier Roux"}


def seat_everyone(session) -> dict:
    return {ident: seat_up(session, ident, name) for ident, name in NAMES.items()}

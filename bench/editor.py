"""Editor benchmark: open the editor on the shipped 130-inject scenario, and save it.

    .venv/bin/python bench/editor.py              # 20 rounds
    .venv/bin/python bench/editor.py --runs 50 --json

Through Django (the test client, a logged-in trainer) when the editor's URLs exist
(`scenarios:draft_edit`, `scenarios:draft_save`): each round opens a new draft of the
scenario (GET the editor page), then posts the page's own form back unchanged, as htmx
does (the save answers with its fragment). Without those URLs it times the services
under them instead — `draft_from_version`, `draft_check`, `draft_save` — and says so.
Its own SQLite file under var/, rebuilt at every run (a few seconds). Medians and p95 are
printed; the figures are wall-clock, so the load of the machine is printed too.
"""

from __future__ import annotations

import argparse
import json
import sys
from html.parser import HTMLParser
from pathlib import Path

from bench.standalone import latency_stats, load_per_cpu, setup_django, timed

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "fixtures" / "scenarios" / "nigerian-minors"


class SaveForm(HTMLParser):
    """The fields a browser would post from the form whose action ends in `save/`."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.action = ""
        self.fields: list[tuple[str, str]] = []
        self._in_form = False
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("action") or "").endswith("save/") and not self.action:
            self.action, self._in_form = a["action"], True
        if not self._in_form or "name" not in a and tag not in ("option",):
            return
        if tag == "input" and "disabled" not in a:
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind not in ("submit", "button", "file", "reset"):
                self.fields.append(
                    (a["name"], a.get("value") or ("on" if kind == "checkbox" else ""))
                )
        elif tag == "select":
            self._select, self._options = a["name"], []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], []

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "form" and self._in_form:
            self._in_form = False
        elif tag == "select" and self._select is not None:
            chosen = [v for v, selected in self._options if selected] or [
                v for v, _ in self._options[:1]
            ]
            self.fields += [(self._select, v) for v in chosen]
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, "".join(self._text).removeprefix("\n")))
            self._textarea = None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    (ROOT / "var").mkdir(exist_ok=True)
    setup_django(ROOT / "var" / "editor-bench.sqlite3", fresh=True)

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from scenarios import authoring
    from scenarios.services import scenario_import
    from simtrain.permissions import TRAINER_GROUP, ensure_groups

    version = scenario_import(source=SCENARIO).version
    ensure_groups()
    user = get_user_model().objects.create(username="bench-editor", first_name="Banc")
    user.groups.add(Group.objects.get(name=TRAINER_GROUP))
    try:
        reverse("scenarios:draft_save", args=["00000000-0000-0000-0000-000000000000"])
        shape = "http"
    except NoReverseMatch:
        shape = "services"
    load_before = load_per_cpu()
    timings: dict[str, list[float]] = {}

    def note(key: str, ms: float) -> None:
        timings.setdefault(key, []).append(ms)

    client = Client()
    client.force_login(user)
    for _ in range(args.runs):
        if shape == "http":
            draft = authoring.draft_from_version(user=user, version=version)
            ms, page = timed(
                lambda d=draft: client.get(reverse("scenarios:draft_edit", args=[d.pk]))
            )
            assert page.status_code == 200, page.status_code
            note("open editor page", ms)
            form = SaveForm()
            form.feed(page.content.decode())
            assert form.action, "no save form on the editor page"
            ms, saved = timed(
                lambda f=form: client.post(f.action, dict_of(f.fields), HTTP_HX_REQUEST="true")
            )
            assert saved.status_code == 200, (saved.status_code, saved.content[:300])
            note("save (unchanged, htmx)", ms)
        else:
            ms, draft = timed(lambda: authoring.draft_from_version(user=user, version=version))
            note("draft_from_version", ms)
            ms, check = timed(lambda d=draft: authoring.draft_check(d))
            assert check.ok, check.errors[:3]
            note("draft_check", ms)
            document = {**draft.document, "title": draft.document["title"] + " ·"}
            ms, _saved = timed(
                lambda d=draft, doc=document: authoring.draft_save(
                    draft_id=d.pk, user=user, document=doc, revision=d.revision
                )
            )
            note("draft_save", ms)
    result = {
        "shape": shape,
        "scenario": version.scenario.slug,
        "injects": version.injects.count(),
        "runs": args.runs,
        "timings": {key: latency_stats(ms) for key, ms in timings.items()},
        "load_per_cpu": {"before": load_before, "after": load_per_cpu()},
    }
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print(
            f"editor benchmark — {result['scenario']} ({result['injects']} injects), "
            f"{args.runs} rounds, through {shape}; load per CPU {load_before} before, "
            f"{result['load_per_cpu']['after']} after"
        )
        for key, s in result["timings"].items():
            print(f"  {key:<28} median {s['median_ms']:8.1f} ms   p95 {s['p95_ms']:8.1f} ms")
    return 0


def dict_of(fields: list[tuple[str, str]]):
    """Form fields as the test client posts them (a name given twice: a list)."""
    posted: dict[str, list[str]] = {}
    for name, value in fields:
        posted.setdefault(name, []).append(value)
    return {name: values if len(values) > 1 else values[0] for name, values in posted.items()}


if __name__ == "__main__":
    sys.exit(main())

"""The shape of the code: one writer of events, a registry of their kinds, no cycles."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from django.conf import settings

from scenarios.format.trigger_graph import strongly_connected
from sessions.events import KINDS

ROOT = Path(settings.BASE_DIR)
PACKAGES = ("simtrain", "scenarios", "sessions", "actors", "rehearsal", "bench")
ENGINE = ROOT / "sessions" / "engine"

# Function-local imports of project modules that are there for a reason other than a
# cycle: an app's ready() (the registry must be loaded first), the ASGI entry point
# (after get_asgi_application()), and Twisted's reactor (importing it installs one).
# The benchmarks are scripts that configure Django in main() before touching models.
LOCAL_IMPORTS_ALLOWED = {
    "sessions/apps.py", "simtrain/apps.py", "simtrain/asgi.py",
    "bench/editor.py", "bench/fanout.py", "bench/fixtures.py", "bench/replay_bench.py",
    "bench/servers.py", "bench/soak.py", "bench/syndicates.py",
}


def sources() -> list[Path]:
    files = []
    for package in PACKAGES:
        files += [p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts]
    return sorted(files)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_only(node: ast.AST, parents: dict) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports_of(path: Path, known: set[str]) -> list[tuple[str, bool]]:
    """(project module imported, whether the import sits inside a function)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    package = module_name(path) if path.name == "__init__.py" else module_name(path.parent)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom) or _type_checking_only(node, parents):
            continue
        local = False
        up = node
        while up in parents:
            up = parents[up]
            if isinstance(up, ast.FunctionDef | ast.AsyncFunctionDef):
                local = True
                break
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target:
                found.append((target, local))
    return found


def import_graph() -> dict[str, set[str]]:
    files = sources()
    known = {module_name(p) for p in files}
    return {module_name(p): {t for t, _ in imports_of(p, known)} - {module_name(p)}
            for p in files}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (the format's own Tarjan)."""
    components = strongly_connected(sorted(graph), lambda node: sorted(graph.get(node, ())))
    return sorted(sorted(c) for c in components if len(c) > 1)


def test_no_import_cycle_between_the_projects_modules():
    assert cycles(import_graph()) == []


def test_the_cycle_detector_sees_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_function_local_import_of_a_project_module_without_a_reason():
    files = sources()
    known = {module_name(p) for p in files}
    offenders = [
        f"{path.relative_to(ROOT)} imports {target}"
        for path in files
        if str(path.relative_to(ROOT)) not in LOCAL_IMPORTS_ALLOWED
        for target, local in imports_of(path, known)
        if local
    ]
    assert offenders == []


def test_rehearsal_depends_on_sessions_never_the_reverse():
    graph = import_graph()
    assert [m for m, deps in graph.items()
            if m.startswith("sessions") and any(d.startswith("rehearsal") for d in deps)] == []


def test_the_scheduler_uses_the_engine_never_the_reverse():
    graph = import_graph()
    assert "sessions.engine" in graph["sessions.scheduler"]
    assert [m for m, deps in graph.items()
            if m.startswith("sessions.engine") and "sessions.scheduler" in deps] == []


# --- One writer of events ---------------------------------------------------------------

WRITES = re.compile(
    r"(?<![\w.])(?<!class )Event\((?!models\.Model)"
    r"|Event\.objects\.(create|bulk_create|get_or_create|update_or_create|bulk_update)\b"
    r"|Event\.objects\.[^\n]*\.(update|delete)\("
)


def test_event_rows_are_written_only_by_the_engine():
    writers = sorted(
        str(path.relative_to(ROOT))
        for path in sources()
        if WRITES.search(path.read_text(encoding="utf-8")) and ENGINE not in path.parents
    )
    assert writers == []


def test_the_writers_pattern_catches_a_write():
    assert WRITES.search("Event.objects.create(session=s, seq=1)")
    assert WRITES.search("Event.objects.filter(session=s).update(payload={})")
    assert WRITES.search("rows = [Event(session=s, **row) for row in rows]")
    assert not WRITES.search("Event.objects.filter(session=s).order_by('seq')")
    assert not WRITES.search("stop = asyncio.Event()")


# --- The registry of event kinds ---------------------------------------------------------


def _string_constants(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)}


def kinds_the_engine_writes() -> set[str]:
    """The first argument of every `*.append(...)` and `_announce_clock(tx, ...)` call."""
    kinds = set()
    for path in ENGINE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            if name.endswith("tx.append") and node.args:
                kinds |= _string_constants(node.args[0])
            elif name == "_announce_clock" and len(node.args) > 1:
                kinds |= _string_constants(node.args[1])
    return kinds


def test_every_kind_the_engine_writes_is_registered():
    written = kinds_the_engine_writes()
    assert len(written) >= 28
    assert written - set(KINDS) == set()


def test_every_registered_kind_is_written_somewhere():
    assert set(KINDS) - kinds_the_engine_writes() == set()


def test_every_registered_kind_is_documented_with_its_fields():
    doc = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([a-z_.]+)` \|.*$", doc, re.M)}
    assert set(rows) == set(KINDS)
    for name, kind in KINDS.items():
        documented = re.findall(r"`([a-z_]+)`(\?)?", rows[name].split("|")[3])
        assert [f for f, q in documented if not q] == list(kind.fields), name
        assert [f for f, q in documented if q] == list(kind.optional), name


# --- Sizes ---------------------------------------------------------------------------------


def test_no_source_file_above_700_lines():
    files = sources() + sorted((ROOT / "tests").rglob("*.py"))
    long = [f"{p.relative_to(ROOT)}: {n}" for p in files
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 700]
    assert long == []


def test_no_template_line_longer_than_300_characters():
    long = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if len(line) > 300
    ]
    assert long == []

"""The canonical text of a scenario, and writing it out as a file, folder or zip.

One scenario has exactly one canonical text: keys in the order of the spec's tables,
durations as `1h30m`, defaults and empty values left out, role-id lists in role
order, long text as `|` blocks. Importing a file and exporting it gives that text;
importing the text gives the same scenario back; exporting again gives the same
bytes. The content hash of a version is taken over it (plus the attachments), so an
unchanged re-import is recognised whatever the author's spacing or key order.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scenarios.format.loader import add_core_resolvers
from scenarios.format.schema import Scenario
from simtrain.durations import format_duration

SCENARIO_FILE = "scenario.yaml"
# Zip entries carry a timestamp; a fixed one makes the same content the same bytes.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


class _CanonicalDumper(yaml.SafeDumper):
    """Block style, lists indented under their key, and every string that a YAML 1.1
    or 1.2 reader would take for something else quoted (`no`, `0o17`, `1e5` …), so
    the file reads back the same with our loader and with other tools."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


# On top of SafeDumper's YAML 1.1 resolvers, which stay.
add_core_resolvers(_CanonicalDumper)


# PyYAML reads these as line breaks (YAML 1.1) and would fold them into spaces unless
# they are escaped, which only the double-quoted style does.
_ONLY_ESCAPED = re.compile("[\x85\u2028\u2029]")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if _ONLY_ESCAPED.search(value):
        style = '"'
    elif "\n" in value:
        style = "|"  # markdown over several lines, as an author writes it
    else:
        style = None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_CanonicalDumper.add_representer(str, _represent_str)


def dump_yaml(data: dict[str, Any]) -> str:
    return yaml.dump(
        data,
        Dumper=_CanonicalDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1_000_000,  # never fold a long line: diffs stay one line per change
    )


def canonical_dict(doc: Scenario) -> dict[str, Any]:
    """The scenario as plain data in canonical form (what the canonical YAML holds)."""
    data = doc.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
    order: dict[str, int] = {}
    for index, role in enumerate(doc.roles):
        order.setdefault(role.id, index)

    def role_list(ids: list[str]) -> list[str]:
        # A list of roles is a set: role order, each once.
        return sorted(dict.fromkeys(ids), key=lambda ident: order.get(ident, len(order)))

    for role in data.get("roles", []):
        if "contacts" in role:
            role["contacts"] = role_list(role["contacts"])
    for action in data.get("actions", []):
        action["roles"] = role_list(action["roles"])
    for objective in data.get("objectives", []):
        if "roles" in objective:
            objective["roles"] = role_list(objective["roles"])
    for request in data.get("requests", []):
        request["from"] = role_list(request["from"])
    for countdown in data.get("countdowns", []):
        countdown["roles"] = role_list(countdown["roles"])
    for countdown, written in zip(data.get("countdowns", []), doc.countdowns, strict=True):
        # Warnings are a set of durations: longest first, each once.
        if written.warn:
            countdown["warn"] = [
                format_duration(s) for s in sorted(set(written.warn), reverse=True)
            ]
    for inject in data.get("injects", []):
        if "to" in inject:
            inject["to"] = "all" if inject["to"] == ["all"] else role_list(inject["to"])
    return data


def content_hash(text: str, files: dict[str, bytes]) -> str:
    digest = hashlib.sha256(text.encode("utf-8"))
    for path in sorted(files):
        digest.update(b"\0" + path.encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(files[path]).hexdigest().encode("ascii"))
    return digest.hexdigest()


@dataclass(frozen=True)
class ExportedScenario:
    """A scenario ready to be written: its canonical YAML and its attachment files."""

    yaml: str
    files: dict[str, bytes] = field(default_factory=dict)  # path -> bytes, sorted by path

    @property
    def content_hash(self) -> str:
        return content_hash(self.yaml, self.files)

    def to_zip(self) -> bytes:
        """A deterministic zip: scenario.yaml first, then the files by path, each with
        the same timestamp and permissions."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data in [(SCENARIO_FILE, self.yaml.encode("utf-8")), *self.files.items()]:
                info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # unix, whatever machine exports it
                info.external_attr = 0o100644 << 16
                archive.writestr(info, data, compresslevel=9)
        return buffer.getvalue()

    def write_zip(self, path: Path) -> None:
        Path(path).write_bytes(self.to_zip())

    def write_folder(self, path: Path) -> None:
        """scenario.yaml and its files in folder `path` (created if needed)."""
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        (root / SCENARIO_FILE).write_text(self.yaml, encoding="utf-8")
        for name, data in self.files.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

    def write_yaml(self, path: Path) -> None:
        """A single YAML file; a scenario with attachments needs a zip or a folder."""
        if self.files:
            raise ValueError(
                f"this scenario has {len(self.files)} attachment file(s): "
                "write it as a .zip or a folder"
            )
        Path(path).write_text(self.yaml, encoding="utf-8")


def export_document(doc: Scenario, files: dict[str, bytes]) -> ExportedScenario:
    """The canonical export of `doc`; `files` holds at least every attachment it names."""
    named = {attachment.file for inject in doc.injects for attachment in inject.attachments}
    return ExportedScenario(
        yaml=dump_yaml(canonical_dict(doc)),
        files={path: files[path] for path in sorted(named)},
    )

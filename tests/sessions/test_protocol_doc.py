"""docs/protocol.md documents every WebSocket command, for the right sender, and the close codes."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

from sessions import consumers, protocol

DOC = Path(settings.BASE_DIR) / "docs" / "protocol.md"
SECTIONS = {
    "Control": "control",
    "Participants": "seat",
    "The trainer or an observer": "any",
    "The trainer": "trainer",
    "Debriefing": "trainer",
}


def documented_commands() -> dict[str, str]:
    """{command: who} from the command tables (`### Control`, `### Participants`, …)."""
    found, who = {}, None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip()
            who = next((w for name, w in SECTIONS.items() if title.startswith(name)), None)
            continue
        if who and (match := re.match(r"\|\s*`([a-z]+\.?[a-z.]*)`\s*\|", line)):
            found[match.group(1)] = who
    return found


def test_every_command_is_documented_for_its_sender():
    documented = documented_commands()
    expected = {name: c.who for name, c in protocol.COMMANDS.items()}
    expected |= {name: "control" for name in protocol.CONTROL}
    missing = sorted(set(expected) - set(documented))
    assert not missing, f"commands missing from docs/protocol.md: {missing}"
    stale = sorted(set(documented) - set(expected))
    assert not stale, f"docs/protocol.md documents commands that do not exist: {stale}"
    wrong = {n: (documented[n], w) for n, w in expected.items() if documented[n] != w}
    assert not wrong, f"documented under the wrong sender (doc, code): {wrong}"


def test_every_field_of_every_command_is_documented():
    text = DOC.read_text(encoding="utf-8")
    for name, command in protocol.COMMANDS.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name}` |"))
        for field in command.fields:
            assert f"`{field.name}`" in row, f"{name}: field {field.name!r} not documented"


def test_close_codes_and_limits_are_documented():
    text = DOC.read_text(encoding="utf-8")
    for code in (
        consumers.CLOSE_UNAUTHENTICATED,
        consumers.CLOSE_FORBIDDEN,
        consumers.CLOSE_NOT_FOUND,
        consumers.CLOSE_TOO_MANY,
    ):
        assert f"`{code}`" in text
    assert f"**{protocol.MAX_FRAME_BYTES // 1024} KiB**" in text
    assert f"**{protocol.MAX_DEPTH}** levels" in text
    assert f"**{consumers.RATE_CAPACITY}** commands" in text

"""Participants' names inside free text, for pseudonymisation (retention).

`engine.session_pseudonymise` replaces the `name` of every event that names a seat
holder; but people also write each other's names in messages, notes, rationales and
comments ("Nina, call the ASE"). As far as the names are known — the display names the
log and the seat and lobby rows hold — this finds them in the text of a payload and
puts the pseudonym in their place:

- a whole display name ("Nina Diallo"), whole words only, any case, unless it is a
  role of the scenario;
- each word of a display name of several words ("Nina", "Diallo"), when it has at
  least `MIN_PART` letters, names one person only and is not a role of the scenario
  (a trainee named after their role must not erase the role from every message);
  a word shared by two people becomes « Participant ».

Only what people wrote is searched (`FREE_TEXT`): never identifiers, nor the
scenario's own text.
What nobody wrote as a display name (a nickname, a misspelling) cannot be known, and
stays: docs/security.md says so.
"""

from __future__ import annotations

import re
from typing import Any

MIN_PART = 3
SHARED = "Participant"
# What people wrote: messages, notes, rationales, comments, debrief lines, the reasons
# of requests and their decisions, and the
# trainer's ad-hoc injects. The scenario's own text (inject titles and bodies, which
# may name characters) is not theirs and is left alone, as are identifiers.
FREE_TEXT = ("text", "note", "rationale", "comment", "reason")
ADHOC_TEXT = ("title", "body", "from")


class NameScrubber:
    """Replaces known real names in text by their pseudonyms (`{real: pseudonym}`)."""

    def __init__(self, pseudonyms: dict[str, str], *, keep: set[str] = frozenset()):
        # Roles (idents and titles, and each of their words) are never taken for names.
        keep_lower = {k.lower() for k in keep} | {
            word.lower() for k in keep for word in re.findall(r"\w+", k)}
        table: dict[str, str] = {}
        for real, alias in pseudonyms.items():
            if real and real != alias and real.lower() not in keep_lower:
                table[real.lower()] = alias
        parts: dict[str, set[str]] = {}
        for real, alias in pseudonyms.items():
            words = re.findall(r"\w+", real)
            if real == alias or len(words) < 2:
                continue
            for word in words:
                if len(word) >= MIN_PART and word.lower() not in keep_lower:
                    parts.setdefault(word.lower(), set()).add(alias)
        for word, aliases in parts.items():
            table.setdefault(word, aliases.pop() if len(aliases) == 1 else SHARED)
        self.table = table
        # Longest first, so "Nina Diallo" goes before "Nina".
        names = sorted(table, key=len, reverse=True)
        self.pattern = (
            re.compile(r"(?<!\w)(" + "|".join(re.escape(n) for n in names) + r")(?!\w)",
                       re.IGNORECASE)
            if names else None
        )

    def text(self, value: str) -> str:
        if self.pattern is None or not value:
            return value
        return self.pattern.sub(lambda m: self.table.get(m.group(1).lower(), SHARED), value)

    def payload(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload with names replaced in the fields people wrote."""
        keys = FREE_TEXT + (ADHOC_TEXT if kind == "inject.fired" and payload.get("adhoc")
                            else ())
        changed = {key: self.text(payload[key]) for key in keys
                   if isinstance(payload.get(key), str)}
        return {**payload, **changed}

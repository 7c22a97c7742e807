"""Inbound WebSocket commands: the table of what may be sent, by whom, with which fields.

A frame is a JSON object `{"cmd": NAME, ...fields}` (htmx's `ws-send` adds a
`HEADERS` object, which is ignored, as are other unknown keys). Every command maps to
one engine service; the engine re-checks permissions, so this table is the first
gate, not the only one. See docs/protocol.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass

from sessions import engine
from simtrain.text import invalid_text

MAX_FRAME_BYTES = 64 * 1024
MAX_DEPTH = 8


class FrameError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Field:
    name: str
    kind: type = str  # str | int | float | list
    required: bool = True
    arg: str = ""  # the engine keyword, when it differs from the wire name


@dataclass(frozen=True)
class Command:
    name: str
    who: str  # "seat" | "trainer" | "any" (the engine decides)
    service: Callable
    fields: tuple[Field, ...] = ()


def _c(name, who, service, *fields):
    return Command(name=name, who=who, service=service, fields=tuple(fields))


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in [
        # Participants
        _c("decision.answer", "seat", engine.decision_answer,
           Field("inject", arg="inject_ident"), Field("option", required=False),
           Field("rationale", required=False)),
        _c("action.take", "seat", engine.action_take,
           Field("action", arg="action_ident"), Field("note", required=False)),
        _c("message.send", "seat", engine.message_send,
           Field("to", arg="to_role"), Field("text")),
        _c("cue.done", "seat", engine.cue_acknowledge, Field("inject", arg="inject_ident")),
        _c("safety.stop", "seat", engine.safety_stop, Field("note", required=False)),
        _c("item.open", "seat", engine.item_open, Field("item", int)),
        _c("note.private", "seat", engine.note_private, Field("text")),
        _c("request.send", "seat", engine.request_send,
           Field("request", arg="request_ident"), Field("reason")),
        _c("request.decide", "seat", engine.request_decide,
           Field("request", arg="request_ident"), Field("outcome"), Field("reason")),
        # The trainer
        _c("session.start", "trainer", engine.session_start),
        _c("session.pause", "trainer", engine.session_pause),
        _c("session.resume", "trainer", engine.session_resume),
        _c("session.end", "trainer", engine.session_end),
        _c("clock.speed", "trainer", engine.clock_set_speed, Field("speed", float)),
        _c("clock.jump", "trainer", engine.clock_jump_to_phase,
           Field("phase", arg="phase_ident")),
        _c("inject.fire", "trainer", engine.inject_fire, Field("inject", arg="inject_ident")),
        _c("inject.skip", "trainer", engine.inject_skip, Field("inject", arg="inject_ident")),
        _c("inject.adhoc", "trainer", engine.inject_adhoc,
           Field("roles", list, required=False), Field("title"),
           Field("body", required=False), Field("kind", required=False),
           Field("from", required=False, arg="sender")),
        _c("decision.reopen", "trainer", engine.decision_reopen,
           Field("inject", arg="inject_ident"), Field("role", arg="role_ident")),
        _c("thread.write", "trainer", engine.message_send,
           Field("from", arg="from_role"), Field("to", arg="to_role"), Field("text")),
        _c("note.add", "trainer", engine.note_add, Field("text")),
        _c("seat.free", "trainer", engine.seat_free, Field("seat", int, arg="seat_id")),
        _c("seat.assign", "trainer", engine.seat_assign,
           Field("seat", int, arg="seat_id"), Field("entry", int, arg="entry_id")),
        _c("lobby.dismiss", "trainer", engine.lobby_dismiss,
           Field("entry", int, arg="entry_id")),
        _c("lobby.clear", "trainer", engine.lobby_clear),
        # After-action review: observers and the trainer rate objectives ("any": the
        # engine checks who is an observer); the trainer writes the debrief.
        _c("objective.rate", "any", engine.objective_rate,
           Field("objective", arg="objective_ident"), Field("level", int),
           Field("comment", required=False)),
        _c("debrief.add", "trainer", engine.debrief_add, Field("kind"), Field("text")),
        # Live annotations: the trainer and observers (the engine checks who observes).
        _c("annotation.add", "any", engine.annotation_add, Field("tag"), Field("text"),
           Field("about", required=False), Field("at_seq", int, required=False)),
    ]
}

# Handled by the consumer itself, not the engine.
CONTROL = {"hello", "ping"}


def _depth(value, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


class _NotFinite(ValueError):
    pass


def _no_constant(name: str):
    raise _NotFinite(name)


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):  # 1e999
        raise _NotFinite(literal)
    return value


def parse_frame(text: str) -> dict:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
        raise FrameError("too-large", "frame over 64 KiB")
    try:
        # NaN and Infinity are not JSON (RFC 8259), though Python's parser takes them.
        data = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except _NotFinite:
        raise FrameError("bad-number", "numbers must be finite (no NaN or Infinity)") from None
    except (ValueError, RecursionError):
        raise FrameError("bad-json", "frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise FrameError("bad-frame", "frame must be a JSON object")
    if _depth(data) > MAX_DEPTH:
        raise FrameError("too-deep", "frame nests too deeply")
    where = invalid_text(data)
    if where is not None:
        # A lone UTF-16 surrogate ("\ud800") decodes, but can be neither stored safely
        # nor sent back: refused here, before anything else reads the frame.
        raise FrameError("bad-text", f"'{where[:40]}' is not valid Unicode text "
                                     "(a lone surrogate or a NUL character)")
    cmd = data.get("cmd")
    if not isinstance(cmd, str):
        raise FrameError("bad-frame", "frame has no 'cmd'")
    if cmd not in COMMANDS and cmd not in CONTROL:
        raise FrameError("unknown-command", f"unknown command {cmd[:40]!r}")
    return data


def _coerce(field: Field, value):
    if field.kind is list:
        if isinstance(value, str):
            value = [value]  # one checkbox checked arrives as a string
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise FrameError("bad-field", f"'{field.name}' must be a list of strings")
        return value
    if field.kind in (int, float):
        if isinstance(value, bool):
            raise FrameError("bad-field", f"'{field.name}' must be a number")
        try:
            number = field.kind(value)  # "inf" as a string, too: float() takes it
        except (TypeError, ValueError, OverflowError):
            raise FrameError("bad-field", f"'{field.name}' must be a number") from None
        if not math.isfinite(number):
            raise FrameError("bad-field", f"'{field.name}' must be a finite number")
        return number
    if not isinstance(value, str):
        raise FrameError("bad-field", f"'{field.name}' must be a string")
    return value


def command_kwargs(command: Command, data: dict) -> dict:
    kwargs = {}
    for field in command.fields:
        if field.name not in data or data[field.name] in (None, ""):
            if field.required:
                raise FrameError("missing-field", f"'{field.name}' is required")
            continue
        kwargs[field.arg or field.name] = _coerce(field, data[field.name])
    return kwargs

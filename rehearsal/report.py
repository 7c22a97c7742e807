"""What a rehearsal found: each participant's screens against the event log, and the injects.

Per participant, from the log and `Perspective.sees`:
- expected: the events of its audience up to its cutoff (the session's last seq when
  it closed for good; presence events appended after that are not its business);
- received: distinct seqs it was shown (page feeds and frames);
- leaked: received, but not for its audience;
- gaps: of its audience, at or below a screen's cursor, but never shown on that screen
  (and for the last screen: not shown by the cutoff);
- duplicates shown: a seq shown twice on one screen after the client-side dedupe;
- duplicates dropped: frames the dedupe rule dropped (information: at-least-once);
- mismatched: a frame whose data-kind is not the kind of the event with that seq;
- out of order: a screen showed a seq after a later one.
Injects: fired more than once (non ad-hoc), late, skipped, never fired, and whether
every InjectFiring matches exactly one event; every time-triggered inject (`at`, and
`after` an inject that fired) due by the clock at the end has exactly one firing and one
event (`timed_not_once`), and every decision deadline that passed was handled.
Chaos (`rehearsal.chaos`): the faults injected, and resync times per fault
kind (p50/p99); a resync that never completed fails the run.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field

from rehearsal.chaos import resync_samples, summarise
from scenarios.models import Inject
from sessions.audience import Perspective
from sessions.models import Event, InjectFiring, Seat, Session

# Refusals that happen in any live session when people race or hesitate.
NORMAL_REFUSALS = frozenset(
    {
        "already-answered",  # two seats of a role answered at once
        "deadline-passed",  # too slow
        "already-taken",  # a once-only action, taken by the other seat of the role
        "already-done",
        "already-fired",  # the trainer fired what the clock or a branch had fired
        "not-answered",  # the trainer reopened what was just reopened
        "session-lobby",
        "session-paused",
        "session-ended",  # a click as the trainer ended the session
        "request-pending",  # a request sent again while its last sending awaits an answer
        "already-sent",  # a `once` request sent again
        "not-pending",  # decided as its deadline ran out
        "not-paused",  # the trainer resumes after a stop that only alerted (or twice)
    }
)
SERVER_ERROR = "server-error"


@dataclass
class ParticipantReport:
    name: str
    kind: str
    role: str
    seat: int | None
    cutoff: int
    expected: int
    received: int
    leaked: list[int] = field(default_factory=list)
    gaps: list[int] = field(default_factory=list)
    duplicates_shown: int = 0
    duplicates_dropped: int = 0
    mismatched: list[int] = field(default_factory=list)
    out_of_order: int = 0  # a screen showed a seq after a later one
    screens: int = 0
    connects: int = 0
    hellos: int = 0
    commands: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    refused_close: int | None = None
    reached_cutoff: bool = True
    # The last screen, up to the cutoff, is exactly the audience's events in seq order.
    final_screen_exact: bool = True

    @property
    def reconnects(self) -> int:
        return max(0, self.connects - 1)


@dataclass
class Report:
    session_id: int
    code: str
    scenario: str
    version: int
    seed: int
    speed: float
    port: int
    timings: dict[str, float]
    clock_ms: int
    events: int
    log_contiguous: bool
    capped: bool
    participants: list[ParticipantReport]
    injects: dict
    errors: dict
    shape: str = "embedded"
    chaos: list[str] | None = None  # the faults asked for (None: no --chaos)
    faults: list[dict] = field(default_factory=list)  # process-level faults, as they happened
    resync: dict = field(default_factory=dict)  # fault kind -> ResyncStats (as a dict)
    resync_samples: list[dict] = field(default_factory=list)
    law: dict = field(default_factory=dict)  # countdowns and requests: `limits_check`
    stopped: str = ""  # why the run ended short of all it waited for (a stall, out of reach)

    @property
    def failures(self) -> list[str]:
        found = []
        if not self.log_contiguous:
            found.append("the log's seq is not contiguous from 1")
        for p in self.participants:
            for what, value in (
                ("leaked", len(p.leaked)),
                ("gaps", len(p.gaps)),
                ("duplicates shown", p.duplicates_shown),
                ("frames of the wrong kind", len(p.mismatched)),
                ("events shown out of order", p.out_of_order),
            ):
                if value:
                    found.append(f"{p.name}: {value} {what}")
            if p.refused_close:
                found.append(f"{p.name}: socket refused with {p.refused_close}")
            if not p.final_screen_exact:
                found.append(f"{p.name}: the last screen is not exactly its audience's events")
        for kind, stats in self.resync.items():
            if stats["unresolved"]:
                found.append(f"{kind}: {stats['unresolved']} resync(s) never completed")
        for fault in self.faults:
            if fault["kind"] != "kill-worker" and fault["down_s"] is None:
                found.append(f"{fault['kind']}: never repaired")
        if self.injects["fired_more_than_once"]:
            found.append(f"injects fired more than once: {self.injects['fired_more_than_once']}")
        if self.injects["firing_mismatches"]:
            found.append(f"firings without their event: {self.injects['firing_mismatches']}")
        if self.injects["timed_not_once"]:
            found.append(f"timed injects not fired exactly once: {self.injects['timed_not_once']}")
        if self.injects.get("withheld_fired_by_itself"):
            found.append(
                f"withheld injects fired by themselves: {self.injects['withheld_fired_by_itself']}"
            )
        if self.injects.get("repeat_not_once_per_taking"):
            found.append(
                "repeat injects not fired once per taking: "
                f"{self.injects['repeat_not_once_per_taking']}"
            )
        if self.injects["deadlines_missed"]:
            found.append(f"decision deadlines not handled: {self.injects['deadlines_missed']}")
        for what, broken in self.law.items():
            if isinstance(broken, list) and broken:
                found.append(f"{what.replace('_', ' ')}: {broken}")
        if self.errors["server_error"]:
            found.append(f"{self.errors['server_error']} server-error(s) returned to bots")
        if self.errors["unexpected"]:
            found.append(f"unexpected errors returned to bots: {self.errors['unexpected']}")
        return found

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict:
        data = asdict(self)
        for p, raw in zip(self.participants, data["participants"], strict=True):
            raw["reconnects"] = p.reconnects
        data["ok"] = self.ok
        data["failures"] = self.failures
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def format_text(self) -> str:
        lines = [
            f"simulate_session — {self.scenario} v{self.version}, session {self.session_id} "
            f"(code {self.code}), seed {self.seed}, speed ×{self.speed:g}, port {self.port}"
            + (f", {self.shape} shape" if self.shape != "embedded" else "")
            + (f", chaos: {', '.join(self.chaos) or 'none'}" if self.chaos is not None else ""),
            "",
        ]
        header = (
            "participant",
            "role",
            "expected",
            "received",
            "leaked",
            "gaps",
            "dup shown",
            "dup dropped",
            "reconnects",
            "commands",
            "refusals",
            "errors",
        )
        rows = [header]
        for p in self.participants:
            refusals = sum(n for code, n in p.errors.items() if code in NORMAL_REFUSALS)
            others = sum(n for code, n in p.errors.items() if code not in NORMAL_REFUSALS)
            rows.append(
                (
                    p.name,
                    p.role or "—",
                    str(p.expected),
                    str(p.received),
                    str(len(p.leaked)),
                    str(len(p.gaps)),
                    str(p.duplicates_shown),
                    str(p.duplicates_dropped),
                    str(p.reconnects),
                    str(sum(p.commands.values())),
                    str(refusals),
                    str(others),
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        for n, row in enumerate(rows):
            cells = [
                cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i])
                for i, cell in enumerate(row)
            ]
            lines.append("  ".join(cells).rstrip())
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
        inj = self.injects
        lines += [
            "",
            f"log: {self.events} events, seq contiguous: {'yes' if self.log_contiguous else 'NO'}"
            f"; clock at the end {_clock(self.clock_ms)}"
            + (" (stopped by the time cap)" if self.capped else "")
            + (f" ({self.stopped})" if self.stopped else ""),
            f"injects: {inj['fired']} fired ({inj['late_count']} late), {inj['adhoc']} ad hoc, "
            f"{inj['skipped']} skipped, {len(inj['never_fired'])} never fired; "
            f"fired more than once: {len(inj['fired_more_than_once'])}; "
            f"timed injects due: {inj['timed_due']}, not fired exactly once: "
            f"{len(inj['timed_not_once'])}",
        ]
        if inj["late"]:
            lines.append(
                "  late: "
                + ", ".join(
                    f"{x['inject']} (due {_clock(x['due_ms'])}, fired {_clock(x['clock_ms'])})"
                    for x in inj["late"]
                )
            )
        if inj["never_fired"]:
            lines.append(
                "  never fired: "
                + ", ".join(f"{x['inject']} [{x['trigger']}]" for x in inj["never_fired"])
            )
        refusals = ", ".join(f"{code} ×{n}" for code, n in sorted(self.errors["refusals"].items()))
        lines.append(
            f"errors to bots: {self.errors['server_error']} server-error"
            + (f"; unexpected: {self.errors['unexpected']}" if self.errors["unexpected"] else "")
            + (f"; refusals (normal): {refusals}" if refusals else "")
        )
        for fault in self.faults:
            lines.append(
                f"fault: {fault['kind']} at clock {_clock(fault['at_clock_ms'])} "
                f"(+{fault['started_s']:.1f}s)"
                + (f", down {fault['down_s']:.1f}s" if fault["down_s"] is not None else "")
                + (f", {fault['detail']}" if fault["detail"] else "")
            )
        if self.resync:
            lines.append("resync (s), line back → screen caught up | fault → caught up:")
            for kind, st in self.resync.items():
                lines.append(
                    f"  {kind:<14} n={st['count']:<4} p50 {_s(st['resync_p50'])}  "
                    f"p99 {_s(st['resync_p99'])}  | p50 {_s(st['recovery_p50'])}  "
                    f"p99 {_s(st['recovery_p99'])}"
                    + (f"  UNRESOLVED {st['unresolved']}" if st["unresolved"] else "")
                )
        t = self.timings
        lines.append("wall time: " + ", ".join(f"{k} {v:.1f}s" for k, v in t.items()))
        lines.append("")
        if self.ok:
            lines.append(
                "OK: no leak, no gap, no duplicate on screen, no inject fired twice, every "
                "timed inject due fired once"
                + (", every resync completed." if self.resync else ".")
            )
        else:
            lines.append("FAILED:")
            lines += [f"  - {failure}" for failure in self.failures]
        return "\n".join(lines)


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _clock(ms: int | None) -> str:
    if ms is None:
        return "—"
    s = max(0, int(ms) // 1000)
    h, m, sec = s // 3600, (s % 3600) // 60, s % 60
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


def perspective_of(spec_kind: str, seat_id: int | None) -> Perspective:
    if seat_id is None:
        return Perspective.trainer()
    return Perspective.for_seat(Seat.objects.select_related("role").get(pk=seat_id))


def participant_report(
    bot, events: dict[int, Event], perspective: Perspective, cutoff: int
) -> ParticipantReport:
    visible = {seq for seq, e in events.items() if perspective.sees_event(e)}
    expected = {seq for seq in visible if seq <= cutoff}
    gaps: set[int] = set()
    for screen in bot.screens:
        upto = max(cutoff, screen.cursor) if screen.final else screen.cursor
        gaps |= {seq for seq in visible if seq <= upto and seq not in screen.shown}
    leaked = sorted(seq for seq in bot.received if seq not in visible)
    mismatched = sorted(
        seq
        for seq in bot.received
        if seq in events and bot.kinds.get(seq) not in (events[seq].kind, "?")
    )
    return ParticipantReport(
        name=bot.spec.name,
        kind=bot.spec.kind,
        role=bot.spec.role,
        seat=bot.spec.seat_id,
        cutoff=cutoff,
        expected=len(expected),
        received=len(bot.received),
        leaked=leaked,
        gaps=sorted(gaps),
        duplicates_shown=sum(s.duplicates_shown for s in bot.screens),
        duplicates_dropped=sum(s.dropped for s in bot.screens),
        mismatched=mismatched,
        out_of_order=sum(
            1 for s in bot.screens for a, b in zip(s.order, s.order[1:], strict=False) if b <= a
        ),
        screens=len(bot.screens),
        connects=bot.connects,
        hellos=bot.hellos,
        commands=dict(bot.commands),
        errors=dict(bot.errors),
        refused_close=bot.refused,
        reached_cutoff=bot.cursor >= max((s for s in expected), default=0),
        final_screen_exact=bool(bot.screens)
        and [seq for seq in bot.screens[-1].order if seq <= cutoff] == sorted(expected),
    )


def timed_check(session: Session, firings: list[InjectFiring], events: dict[int, Event]):
    """Time-triggered injects due by the end: (how many, those not fired exactly once).

    `at` injects due at or before the clock at the end, and `after` injects whose parent
    fired, due by then — as `sessions.clock` computes them. Exactly once: one
    InjectFiring and one `inject.fired`/`inject.skipped` event naming it.
    """
    end_ms = session.anchor_clock_ms
    by_ident = {f.inject.ident: f for f in firings}
    events_of = Counter(
        e.payload.get("inject")
        for e in events.values()
        if e.kind in ("inject.fired", "inject.skipped") and not e.payload.get("adhoc")
    )
    rows = Inject.objects.filter(
        version_id=session.version_id, trigger__in=[Inject.Trigger.AT, Inject.Trigger.AFTER]
    ).select_related("after_inject")
    withheld = {e.payload.get("inject") for e in events.values() if e.kind == "inject.withheld"}
    due, wrong = 0, []
    for inject in rows:
        if inject.ident in withheld and events_of[inject.ident] == 0:
            continue  # its `if` did not hold: it is not due (unless fired by hand)
        if inject.trigger == Inject.Trigger.AT:
            due_ms = (inject.at_s or 0) * 1000
        else:
            parent = by_ident.get(inject.after_inject.ident if inject.after_inject else None)
            if parent is None or parent.outcome != InjectFiring.Outcome.FIRED:
                continue
            due_ms = parent.clock_ms + (inject.after_delay_s or 0) * 1000
        if due_ms > end_ms:
            continue
        due += 1
        count = InjectFiring.objects.filter(session=session, inject=inject).count()
        if count != 1 or events_of[inject.ident] != 1:
            wrong.append(inject.ident)
    deadlines = sorted(
        f.inject.ident
        for f in firings
        if f.deadline_ms is not None and f.deadline_ms <= end_ms and not f.deadline_done
    )
    return due, sorted(wrong), deadlines


def law_check(session: Session, events: dict[int, Event]) -> tuple[list[str], list[str]]:
    """The invariants of the law keys: (withheld injects that later fired by themselves,
    `repeat` injects not fired exactly once per taking of their action).

    A withheld inject (`inject.withheld`) may fire afterwards only by the trainer's
    hand (actor `trainer:…`). A `repeat` inject fires, by itself, once for each taking
    of its action whose delay has run out by the end (none once withheld)."""
    withheld: dict[str, int] = {}
    by_itself = set()
    system_fires: Counter = Counter()
    takings: list[Event] = []
    for seq in sorted(events):
        e = events[seq]
        ident = e.payload.get("inject")
        if e.kind == "inject.withheld":
            withheld.setdefault(ident, seq)
        elif e.kind == "inject.fired" and e.actor == "system":
            system_fires[ident] += 1
            if ident in withheld:
                by_itself.add(ident)
        elif e.kind == "action.taken":
            takings.append(e)
    wrong = []
    end_ms = session.anchor_clock_ms
    for inject in Inject.objects.filter(version_id=session.version_id, repeat=True):
        if inject.ident in withheld:
            continue
        due = 0
        for cause in inject.causes:
            due += sum(
                1
                for e in takings
                if e.payload.get("action") == cause.ident
                and e.clock_ms + cause.delay_s * 1000 <= end_ms
            )
        if due != system_fires[inject.ident]:
            wrong.append(inject.ident)
    return sorted(by_itself), sorted(wrong)


def inject_summary(session: Session, events: dict[int, Event]) -> dict:
    fired = Counter()
    adhoc = 0
    repeats = set(
        Inject.objects.filter(version_id=session.version_id, repeat=True).values_list(
            "ident", flat=True
        )
    )
    for e in events.values():
        if e.kind == "inject.fired":
            if e.payload.get("adhoc"):
                adhoc += 1
            elif e.payload.get("inject") not in repeats:  # those fire once per taking
                fired[e.payload.get("inject")] += 1
    firings = list(InjectFiring.objects.filter(session=session).select_related("inject"))
    mismatches = []
    for f in firings:
        event = events.get(f.seq)
        kind = "inject.fired" if f.outcome == InjectFiring.Outcome.FIRED else "inject.skipped"
        if event is None or event.kind != kind or event.payload.get("inject") != f.inject.ident:
            mismatches.append(f.inject.ident)
    fired_by_firing = {f.seq for f in firings if f.outcome == InjectFiring.Outcome.FIRED}
    for seq, e in events.items():
        if (
            e.kind == "inject.fired"
            and not e.payload.get("adhoc")
            and seq not in fired_by_firing
            and e.payload.get("inject") not in repeats  # only the first has a firing
        ):
            mismatches.append(e.payload.get("inject"))
    done = {f.inject_id for f in firings}
    never = [
        {"inject": i.ident, "trigger": i.trigger}
        for i in Inject.objects.filter(version_id=session.version_id).order_by("order")
        if i.pk not in done
    ]
    late = [
        {"inject": f.inject.ident, "due_ms": f.due_ms, "clock_ms": f.clock_ms}
        for f in sorted(firings, key=lambda f: f.seq)
        if f.late
    ]
    timed_due, timed_not_once, deadlines_missed = timed_check(session, firings, events)
    withheld_fired, repeat_not_once = law_check(session, events)
    return {
        "withheld_fired_by_itself": withheld_fired,
        "repeat_not_once_per_taking": repeat_not_once,
        "timed_due": timed_due,
        "timed_not_once": timed_not_once,
        "deadlines_missed": deadlines_missed,
        "fired": sum(1 for f in firings if f.outcome == InjectFiring.Outcome.FIRED),
        "skipped": sum(1 for f in firings if f.outcome == InjectFiring.Outcome.SKIPPED),
        "adhoc": adhoc,
        "fired_more_than_once": {k: n for k, n in sorted(fired.items()) if n > 1},
        "late": late,
        "late_count": len(late),
        "never_fired": never,
        "firing_mismatches": sorted(set(mismatches)),
    }


def limits_check(events: dict[int, Event]) -> dict:
    """The invariants of countdowns and requests, over the log: a countdown starts once,
    expires once, and logs nothing after it stopped or expired; a request is decided at
    most once per sending, and only for a sending of its own."""
    ended: dict[str, str] = {}
    started, expired, after_end = Counter(), Counter(), []
    sendings: dict[int, str] = {}
    decided = Counter()
    strays = []
    for seq in sorted(events):
        e = events[seq]
        p = e.payload
        if e.kind.startswith("countdown."):
            ident = p["countdown"]
            if ident in ended:
                after_end.append(f"{ident}: {e.kind} after {ended[ident]} (#{seq})")
            if e.kind == "countdown.started":
                started[ident] += 1
            elif e.kind in ("countdown.expired", "countdown.stopped"):
                expired[ident] += e.kind == "countdown.expired"
                ended.setdefault(ident, e.kind)
        elif e.kind == "request.sent":
            sendings[seq] = p["request"]
        elif e.kind == "request.decided":
            decided[p["sent_seq"]] += 1
            if sendings.get(p["sent_seq"]) != p["request"]:
                strays.append(seq)
    return {
        "countdowns_started": sum(started.values()),
        "countdowns_expired": sum(expired.values()),
        "requests_sent": len(sendings),
        "requests_decided": sum(decided.values()),
        "countdowns_started_twice": sorted(k for k, n in started.items() if n > 1),
        "countdowns_expired_twice": sorted(k for k, n in expired.items() if n > 1),
        "countdowns_after_their_end": after_end,
        "requests_decided_twice": sorted(k for k, n in decided.items() if n > 1),
        "decisions_without_their_sending": strays,
    }


def build_report(
    *,
    session_id: int,
    bots,
    seed: int,
    speed: float,
    port: int,
    timings: dict[str, float],
    capped: bool,
    stopped: str = "",
    shape: str = "embedded",
    chaos: list[str] | None = None,
    faults=(),
    t0: float = 0.0,
) -> Report:
    session = Session.objects.select_related("version__scenario").get(pk=session_id)
    events = {e.seq: e for e in Event.objects.filter(session=session).order_by("seq")}
    seqs = sorted(events)
    participants = []
    errors = Counter()
    visible: dict[str, list[int]] = {}
    for bot in bots:
        perspective = perspective_of(bot.spec.kind, bot.spec.seat_id)
        cutoff = bot.cutoff if bot.cutoff is not None else session.last_seq
        participants.append(participant_report(bot, events, perspective, cutoff))
        errors.update(bot.errors)
        visible[bot.name] = [seq for seq in seqs if perspective.sees_event(events[seq])]
    samples = resync_samples(bots, list(faults), events, visible)
    refusals = {k: n for k, n in errors.items() if k in NORMAL_REFUSALS}
    unexpected = {
        k: n
        for k, n in errors.items()
        if k not in NORMAL_REFUSALS and k != SERVER_ERROR and not k.startswith("close-")
    }
    return Report(
        session_id=session.pk,
        code=session.code,
        scenario=session.version.scenario.slug,
        version=session.version.number,
        seed=seed,
        speed=speed,
        port=port,
        timings={k: round(v, 2) for k, v in timings.items()},
        clock_ms=session.anchor_clock_ms,
        events=len(events),
        log_contiguous=seqs == list(range(1, len(seqs) + 1)) and session.last_seq == len(seqs),
        capped=capped,
        stopped=stopped,
        participants=participants,
        injects=inject_summary(session, events),
        law=limits_check(events),
        errors={
            "server_error": errors.get(SERVER_ERROR, 0),
            "unexpected": unexpected,
            "refusals": refusals,
        },
        shape=shape,
        chaos=chaos,
        faults=[f.to_dict(t0) for f in faults],
        resync={kind: asdict(stats) for kind, stats in summarise(samples).items()},
        resync_samples=[
            {
                "kind": s.kind,
                "participant": s.participant,
                "start_s": round(s.start - t0, 3),
                "target": s.target,
                "resync_s": None if s.resync_s is None else round(s.resync_s, 3),
                "recovery_s": None if s.recovery_s is None else round(s.recovery_s, 3),
            }
            for s in samples
        ],
    )

"""Checks of the law keys: conditions, the `when` forms, `reply` and `repeat`, requests,
countdowns, fiction, and measures (the base forms and the combined ones).

A form written only with the keys the format had before the law keys gets the
messages it always got; the new keys have messages that list every form.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import ValidationError

from scenarios.format.checker import CheckerBase
from scenarios.format.diagnose import article
from scenarios.format.law import Condition, Fiction
from scenarios.format.loader import DataPath
from scenarios.format.schema import TIMED_MEASURES, Inject, Measure, When
from scenarios.format.stored import when_json
from scenarios.triggers import causes
from simtrain.durations import format_duration

CONDITION_WORDS = (
    "inject, decision (with option), action, request (with outcome), countdown (with state), "
    "all, any or not"
)
WHEN_WORDS = "decision (with option), action, request (with outcome), countdown (with state) or any"
MEASURE_WORDS = (
    "decision (with option), action, message, request (with outcome), countdown (with "
    "expired), all, any, not or before"
)


def _got(forms: list[str]) -> str:
    return "; got " + ", ".join(forms) if forms else ""


class LawChecks(CheckerBase):
    def one_form(self, forms: list[str], path: DataPath, name: str, label: str, words: str):
        """The single form given, or None after reporting that there is none or several."""
        if len(forms) == 1:
            return forms[0]
        self.report(
            "bad-value" if forms else "missing-key",
            f"{name}: '{label}' takes exactly one of {words}{_got(forms)}",
            path,
        )
        return None

    def pair(self, first, second, names: tuple[str, str], path, name, label) -> bool:
        """Both keys of a two-key form are given, or one is reported missing."""
        if first is not None and second is not None:
            return True
        have, need = names if first is not None else names[::-1]
        self.report(
            "missing-key", f"{name}: '{label}.{need}' is required with '{label}.{have}'", path
        )
        return False

    # conditions

    def check_condition(self, condition: Condition, path: DataPath, name: str, label: str):
        kind = self.one_form(condition.forms(), path, name, label, CONDITION_WORDS)
        who = f"{name}: '{label}' names"
        if kind == "inject":
            self.inject(condition.inject, (*path, "inject"), who)
        elif kind == "decision":
            names = ("decision", "option")
            if self.pair(condition.decision, condition.option, names, path, name, label):
                decision = self.decision(condition.decision, (*path, "decision"), who)
                if decision is not None:
                    where = f"{name}: '{label}'"
                    self.check_option(decision, condition.option, (*path, "option"), where, label)
        elif kind == "action":
            self.action(condition.action, (*path, "action"), who)
        elif kind == "request":
            names = ("request", "outcome")
            if self.pair(condition.request, condition.outcome, names, path, name, label):
                self.request(condition.request, (*path, "request"), who)
        elif kind == "countdown":
            names = ("countdown", "state")
            if self.pair(condition.countdown, condition.state, names, path, name, label):
                self.countdown(condition.countdown, (*path, "countdown"), who)
        elif kind in ("all", "any"):
            for k, child in enumerate(getattr(condition, f"{kind}_")):
                self.check_condition(child, (*path, kind, k), name, f"{label}.{kind}[{k}]")
        elif kind == "not":
            self.check_condition(condition.not_, (*path, "not"), name, f"{label}.not")

    # triggers

    def check_when(self, when: When, path: DataPath, name: str, label: str) -> None:
        if not when.uses_new_keys:
            self._check_first_when(when, path, name, label)
            return
        kind = self.one_form(when.forms(), path, name, label, WHEN_WORDS)
        who = f"{name} waits for"
        if kind == "decision":
            if self.pair(when.decision, when.option, ("decision", "option"), path, name, label):
                decision = self.decision(when.decision, (*path, "decision"), who)
                if decision is not None:
                    self.check_option(decision, when.option, (*path, "option"), name, "when")
        elif kind == "action":
            self.action(when.action, (*path, "action"), who)
        elif kind == "request":
            if self.pair(when.request, when.outcome, ("request", "outcome"), path, name, label):
                self.request(when.request, (*path, "request"), who)
        elif kind == "countdown":
            if self.pair(when.countdown, when.state, ("countdown", "state"), path, name, label):
                self.countdown(when.countdown, (*path, "countdown"), who)
        elif kind == "any":
            for k, branch in enumerate(when.any_):
                self.check_when(branch, (*path, "any", k), name, f"{label}.any[{k}]")

    def _check_first_when(self, when: When, path: DataPath, name: str, label: str) -> None:
        """The two forms the format started with, with the messages they always had."""
        if when.action is not None and (when.decision is not None or when.option is not None):
            self.report(
                "bad-value",
                f"{name}: '{label}' takes either decision and option, or action, not both",
                path,
            )
            return
        if when.action is not None:
            self.action(when.action, (*path, "action"), f"{name} waits for")
            return
        if when.decision is None or when.option is None:
            missing = "option" if when.decision is not None else "decision"
            self.report(
                "missing-key",
                f"{name}: '{label}.{missing}' is required: write when: {{decision: ID, "
                "option: OPTION}} (an option id, any or none) or when: {action: ID}",
                path,
            )
            return
        decision = self.decision(when.decision, (*path, "decision"), f"{name} waits for")
        if decision is not None:
            self.check_option(decision, when.option, (*path, "option"), name, "when")

    def check_inject_law(self, index: int, inject: Inject) -> None:
        base = ("injects", index)
        name = f"inject '{inject.id}'"
        if inject.if_ is not None:
            self.check_condition(inject.if_, (*base, "if"), name, "if")
        if inject.reply:
            self.check_reply(index, inject)
        if inject.repeat:
            self.check_repeat(index, inject)

    def trigger_causes(self, inject: Inject):
        """The simple causes of the inject's `when` ([] without one, or when unreadable)."""
        data = when_json(inject.when, lenient=True) if inject.when is not None else None
        return causes(data) if data else []

    def check_reply(self, index: int, inject: Inject) -> None:
        base = ("injects", index)
        name = f"inject '{inject.id}'"
        found = self.trigger_causes(inject)
        acts = [cause for cause in found if cause.is_act]
        if not acts:
            self.report(
                "reply-without-act",
                f"{name} has reply: true, but no role's act triggers it: reply goes with "
                "when: an answer to a decision, an action, or a request",
                (*base, "reply"),
                key=True,
            )
            return
        if inject.to is None and inject.kind != "broadcast" and len(acts) < len(found):
            others = ", ".join(f"{c.kind} '{c.ident}'" for c in found if not c.is_act)
            self.report(
                "reply-without-act",
                f"{name} has reply: true and no 'to', but {others} is no role's act: "
                "it would reach nobody then; give 'to' as well",
                (*base, "reply"),
                key=True,
            )
        if inject.kind == "cue":
            self.report(
                "cue-to-non-actor",
                f"cue '{inject.id}' has reply: true, but the roles whose acts trigger it are "
                "trainees; cues go to actor roles only",
                (*base, "reply"),
                key=True,
            )

    def reply_targets(self, inject: Inject) -> set[str]:
        """The roles a `reply: true` may reach: whoever can perform the acts causing it."""
        if not inject.reply:
            return set()
        roles = [role for _index, role in self.roles.items]
        targets: set[str] = set()
        for cause in self.trigger_causes(inject):
            if not cause.is_act:
                continue
            if cause.kind == "decision" and (decision := self.injects.get(cause.ident)):
                targets |= set(decision.recipient_ids(roles))
            elif cause.kind == "action" and (action := self.actions.get(cause.ident)):
                targets |= set(action.roles)
            elif cause.kind == "request" and (request := self.requests.get(cause.ident)):
                targets |= set(request.senders)
        return targets & self.trainee_ids()

    def check_repeat(self, index: int, inject: Inject) -> None:
        path = ("injects", index, "repeat")
        name = f"inject '{inject.id}'"
        when = inject.when
        if when is None or when.forms() != ["action"]:
            self.report(
                "repeat-without-repeatable-action",
                f"{name}: 'repeat: true' goes with when: {{action: ID}} only, on an action "
                "with once: false",
                path,
                key=True,
            )
            return
        action = self.actions.get(when.action)
        if action is not None and action.once:
            self.report(
                "repeat-without-repeatable-action",
                f"{name}: 'repeat: true' needs an action with once: false, but action "
                f"'{action.id}' may be taken only once",
                path,
                key=True,
            )

    # requests and countdowns

    def check_requests(self) -> None:
        for index, request in self.requests.items:
            base = ("requests", index)
            name = f"request '{request.id}'"
            if not request.senders and "from" not in self.requests.dropped.get(index, set()):
                self.report(
                    "request-from-empty",
                    f"{name}: 'from' names no role: list the roles that may send it",
                    (*base, "from"),
                )
            for j, ident in enumerate(request.senders):
                self.check_role(ident, (*base, "from", j), f"{name} may be sent by")
            role = self.check_role(request.to, (*base, "to"), f"{name} is decided by")
            if role is not None and role.kind != "trainee":
                self.report(
                    "request-to-non-trainee",
                    f"{name} is decided by '{role.id}', {article(role.kind)} role; only "
                    "trainee roles decide requests",
                    (*base, "to"),
                )

    def check_countdowns(self) -> None:
        for index, countdown in self.countdowns.items:
            base = ("countdowns", index)
            name = f"countdown '{countdown.id}'"
            for j, ident in enumerate(countdown.roles):
                self.check_role(ident, (*base, "roles", j), f"{name} is shown to")
            self.check_condition(countdown.starts, (*base, "starts"), name, "starts")
            if countdown.stops is not None:
                self.check_condition(countdown.stops, (*base, "stops"), name, "stops")
            limit = countdown.limit
            if limit == 0:
                self.report("bad-value", f"{name}: 'limit' must be more than 0s", (*base, "limit"))
            for k, extension in enumerate(countdown.extends):
                path = (*base, "extends", k)
                self.check_condition(extension.when, (*path, "when"), name, f"extends[{k}].when")
                if extension.by == 0:
                    self.report(
                        "bad-value",
                        f"{name}: 'extends[{k}].by' must be more than 0s",
                        (*path, "by"),
                    )
            for k, warn in enumerate(countdown.warn):
                if limit and not 0 < warn < limit:
                    self.report(
                        "bad-value",
                        f"{name}: 'warn[{k}]' is {format_duration(warn)}; a warning comes "
                        f"between 0s and the limit ({format_duration(limit)}) before expiry",
                        (*base, "warn", k),
                    )

    # fiction

    def check_fiction(self) -> None:
        raw = self.data.get("fiction")
        if raw is None:
            return
        try:
            fiction = Fiction.model_validate(raw)
        except ValidationError:
            return  # its shape is reported already
        previous = None  # (index, at, to) of the jump before
        for k, jump in enumerate(fiction.jumps):
            path = ("fiction", "jumps", k)
            if previous is not None and jump.at <= previous[1]:
                self.report(
                    "jumps-out-of-order",
                    f"fiction: jump {k + 1} at {format_duration(jump.at)} does not come after "
                    f"jump {previous[0] + 1} at {format_duration(previous[1])}: list the jumps "
                    "in clock order, each at its own time",
                    (*path, "at"),
                )
                continue
            elapsed = jump.at - (previous[1] if previous else 0)
            story = (previous[2] if previous else fiction.starts) + timedelta(seconds=elapsed)
            if jump.to < story:
                self.report(
                    "jumps-out-of-order",
                    f"fiction: jump {k + 1} goes back in story time: at clock "
                    f"{format_duration(jump.at)} the story is already at "
                    f"{story.isoformat(timespec='minutes')}, after its 'to' "
                    f"{jump.to.isoformat(timespec='minutes')}",
                    (*path, "to"),
                )
            previous = (k, jump.at, jump.to)

    # measures

    def check_measure(self, measure: Measure, path: DataPath, name: str, label: str) -> None:
        if not measure.uses_new_keys:
            self._check_base_measure(measure, path, name, label)
            return
        kind = self.one_form(measure.forms(), path, name, label, MEASURE_WORDS)
        who = f"{name} measures"
        if kind in ("decision", "action", "message"):
            self._check_base_measure(measure, path, name, label)
        elif kind == "request":
            if self.pair(
                measure.request, measure.outcome, ("request", "outcome"), path, name, label
            ):
                self.request(measure.request, (*path, "request"), who)
        elif kind == "countdown":
            names = ("countdown", "expired")
            if self.pair(measure.countdown, measure.expired, names, path, name, label):
                self.countdown(measure.countdown, (*path, "countdown"), who)
        elif kind in ("all", "any", "before"):
            for k, child in enumerate(getattr(measure, kind if kind == "before" else f"{kind}_")):
                self.check_measure(child, (*path, kind, k), name, f"{label}.{kind}[{k}]")
        elif kind == "not":
            self.check_measure(measure.not_, (*path, "not"), name, f"{label}.not")
        if kind is not None and kind not in TIMED_MEASURES and measure.within is not None:
            self.report(
                "bad-value",
                f"{name}: '{label}.within' goes with decision, action, message or request "
                f"only, not with {kind}: put it on the measures inside",
                (*path, "within"),
                key=True,
            )

    def _check_base_measure(self, measure: Measure, path: DataPath, name: str, label: str):
        """The three measures the format started with, with the messages they always had."""
        forms = [
            key
            for key, present in (
                ("decision", measure.decision is not None or measure.option is not None),
                ("action", measure.action is not None),
                ("message", measure.message is not None),
            )
            if present
        ]
        if len(forms) != 1:
            self.report(
                "bad-value" if forms else "missing-key",
                f"{name}: '{label}' takes exactly one of decision (with option), action "
                f"or message{'; got ' + ', '.join(forms) if forms else ''}",
                path,
            )
            return
        if forms == ["decision"]:
            if measure.decision is None or measure.option is None:
                missing = "option" if measure.decision is not None else "decision"
                self.report(
                    "missing-key",
                    f"{name}: '{label}.{missing}' is required with "
                    f"'{label}.{'decision' if missing == 'option' else 'option'}'",
                    path,
                )
                return
            decision = self.decision(measure.decision, (*path, "decision"), f"{name} measures")
            if decision is not None:
                self.check_option(decision, measure.option, (*path, "option"), name, "measure")
        elif forms == ["action"]:
            self.action(measure.action, (*path, "action"), f"{name} measures")
        else:
            message = measure.message
            self.check_role(
                message.sender, (*path, "message", "from"), f"{name} measures a message from"
            )
            self.check_role(message.to, (*path, "message", "to"), f"{name} measures a message to")

"""What every check of a scenario's meaning shares: where to report, and how to look up
what a reference names (reporting it when it names nothing).

The checks themselves are mixins of `CheckerBase`, one module per part of the format:
`check_items` (roles, actions, injects, objectives), `check_law` (conditions, the new
trigger forms, requests, countdowns, fiction, measures) and `trigger_graph` (cycles and
what can never happen). `validate.Checker` puts them together.
"""

from __future__ import annotations

from typing import Any

from scenarios.format.bundle import Bundle
from scenarios.format.diagnose import article, known, suggest
from scenarios.format.errors import Reporter
from scenarios.format.law import Countdown, Request
from scenarios.format.loader import DataPath, LoadedYaml
from scenarios.format.namespaces import Namespace
from scenarios.format.schema import Action, Inject, Role

OPTION_ANY, OPTION_NONE = "any", "none"
ALL = "all"


class CheckerBase:
    def __init__(
        self,
        loaded: LoadedYaml,
        reporter: Reporter,
        spaces: dict[str, Namespace],
        bundle: Bundle | None,
    ):
        self.loaded = loaded
        self.data: Any = loaded.data
        self.reporter = reporter
        self.spaces = spaces
        self.roles: Namespace = spaces["roles"]
        self.phases: Namespace = spaces["phases"]
        self.actions: Namespace = spaces["actions"]
        self.requests: Namespace = spaces["requests"]
        self.countdowns: Namespace = spaces["countdowns"]
        self.injects: Namespace = spaces["injects"]
        self.objectives: Namespace = spaces["objectives"]
        self.bundle = bundle
        self.files: dict[str, bytes] = {}
        # Injects and countdowns in a trigger cycle: already errors, so the analysis of
        # what can never happen leaves them (and what waits for them) alone.
        self.cyclic: set[str] = set()
        self.cyclic_countdowns: set[str] = set()
        # Injects whose `if` can never hold when their trigger comes.
        self.withheld: set[str] = set()
        self.trainees: set[str] = self.trainee_ids()

    def report(self, code: str, message: str, path: DataPath, *, key: bool = False) -> None:
        at = self.loaded.key_at(path) if key else self.loaded.at(path)
        self.reporter.add(code, message, at)

    def role_ids(self) -> list[str]:
        return self.roles.ids()

    def trainee_ids(self) -> set[str]:
        return {role.id for _index, role in self.roles.items if role.kind == "trainee"}

    # references

    def check_role(self, ident: str, path: DataPath, what: str) -> Role | None:
        """The role `ident`, or None after reporting it (when it can be judged)."""
        role = self.roles.get(ident)
        if role is None and self.roles.verifiable(ident):
            self.report(
                "unknown-role",
                f"{what} unknown role '{ident}' ({known(self.role_ids(), 'no roles are defined')})",
                path,
            )
        return role

    def inject(self, ident: str, path: DataPath, who: str) -> Inject | None:
        inject = self.injects.get(ident)
        if inject is None and self.injects.verifiable(ident):
            self.report(
                "unknown-inject",
                f"{who} unknown inject '{ident}'" + suggest(ident, self.injects.ids()),
                path,
            )
        return inject

    def decision(self, ident: str, path: DataPath, who: str) -> Inject | None:
        """The decision inject `ident`, or None after reporting why it is not one."""
        inject = self.injects.get(ident)
        if inject is None:
            if self.injects.verifiable(ident):
                self.report(
                    "unknown-decision",
                    f"{who} decision '{ident}', but there is no inject '{ident}'"
                    + suggest(ident, self.injects.ids()),
                    path,
                )
            return None
        if inject.kind != "decision":
            self.report(
                "unknown-decision",
                f"{who} decision '{ident}', but inject '{ident}' is {article(inject.kind)}, "
                "not a decision",
                path,
            )
            return None
        return inject

    def action(self, ident: str, path: DataPath, who: str) -> Action | None:
        action = self.actions.get(ident)
        if action is None and self.actions.verifiable(ident):
            self.report(
                "unknown-action",
                f"{who} unknown action '{ident}' "
                f"({known(self.actions.ids(), 'no actions are defined')})",
                path,
            )
        return action

    def request(self, ident: str, path: DataPath, who: str) -> Request | None:
        request = self.requests.get(ident)
        if request is None and self.requests.verifiable(ident):
            self.report(
                "unknown-request",
                f"{who} unknown request '{ident}' "
                f"({known(self.requests.ids(), 'no requests are defined')})",
                path,
            )
        return request

    def countdown(self, ident: str, path: DataPath, who: str) -> Countdown | None:
        countdown = self.countdowns.get(ident)
        if countdown is None and self.countdowns.verifiable(ident):
            self.report(
                "unknown-countdown",
                f"{who} unknown countdown '{ident}' "
                f"({known(self.countdowns.ids(), 'no countdowns are defined')})",
                path,
            )
        return countdown

    def check_option(
        self, decision: Inject, option: str, path: DataPath, name: str, where: str
    ) -> None:
        """`option` is an option of `decision`; `any` and `none` are too, except in a
        measure (`where == "measure"`)."""
        if where != "measure" and option in (OPTION_ANY, OPTION_NONE):
            return
        ids = [o.id for o in decision.options or []]
        if option in ids:
            return
        extra = " (and any, none)" if where != "measure" else " (any and none are for when only)"
        listed = ", ".join(ids) if ids else "no options"
        self.report(
            "unknown-option",
            f"{name} names option '{option}' of decision '{decision.id}', which has "
            f"{listed}{extra}",
            path,
        )

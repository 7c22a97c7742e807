"""The trigger graph: what waits for what, its cycles, and what can never happen.

Nodes are injects, `("inject", id)`, and the states a countdown can reach,
`("countdown", id, "running" | "stopped" | "expired")`. An inject waits for what its
trigger names (`after`, every cause of its `when`, `any` included); a countdown runs
once its `starts` can hold, is stopped once it runs and its `stops` can hold, expires
once it runs. Requests and actions are acts of people: they wait for nothing.

A cycle in this graph is an error. What can never happen is worked out as a least
fixed point (nothing is possible until shown to be), so chains thousands of injects
long need no recursion; a condition's `not` is taken as always possible.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from scenarios.conditions import form, positive_atoms
from scenarios.format.check_law import LawChecks
from scenarios.format.law import Condition
from scenarios.format.schema import Inject, Scenario
from scenarios.format.stored import condition_json, when_json

Node = tuple[str, ...]
RUNNING, STOPPED, EXPIRED = "running", "stopped", "expired"
COUNTDOWN_STATES = (RUNNING, STOPPED, EXPIRED)


def strongly_connected(nodes: list[Node], successors) -> list[list[Node]]:
    """Tarjan's components, without recursion."""
    index: dict[Node, int] = {}
    low: dict[Node, int] = {}
    stack: list[Node] = []
    on_stack: set[Node] = set()
    found: list[list[Node]] = []
    for root in nodes:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(successors(root)))]
        while work:
            node, pending = work[-1]
            for target in pending:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(successors(target))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    found.append(component)
    return found


class GraphChecks(LawChecks):
    # building the graph

    def graph_nodes(self) -> list[Node]:
        """Every node, injects first, each in file order (the first of a duplicate id)."""
        nodes: list[Node] = [
            ("inject", inject.id)
            for _index, inject in self.injects.items
            if self.injects.get(inject.id) is inject
        ]
        for _index, countdown in self.countdowns.items:
            if self.countdowns.get(countdown.id) is countdown:
                nodes += [("countdown", countdown.id, state) for state in COUNTDOWN_STATES]
        return nodes

    def atom_node(self, atom: dict) -> Node | None:
        """The node an atom of a condition or `when` waits for, if it waits for one."""
        kind = form(atom)
        if kind == "inject" and self.injects.get(atom["inject"]) is not None:
            return ("inject", atom["inject"])
        if kind == "decision":
            target = self.injects.get(atom["decision"])
            if target is not None and target.kind == "decision":
                return ("inject", target.id)
        if kind == "countdown" and self.countdowns.get(atom["countdown"]) is not None:
            return ("countdown", atom["countdown"], atom.get("state") or RUNNING)
        return None

    def condition_nodes(self, condition: Condition | None) -> list[Node]:
        data = condition_json(condition, lenient=True) if condition is not None else None
        if not data:
            return []
        return [node for atom in positive_atoms(data) if (node := self.atom_node(atom))]

    def trigger_edges(self, inject: Inject) -> tuple[str, list[Node]]:
        """The key of the inject's first trigger and what it waits for."""
        if inject.after is not None:
            target = self.injects.get(inject.after.inject)
            return "after", [("inject", target.id)] if target is not None else []
        if inject.when is not None:
            data = when_json(inject.when, lenient=True)
            atoms = _when_atoms(data) if data else []
            return "when", [node for atom in atoms if (node := self.atom_node(atom))]
        return "", []

    def edges(self) -> dict[Node, list[tuple[Node, str]]]:
        """What each node waits for, with the key that says so (for positions)."""
        edges: dict[Node, list[tuple[Node, str]]] = {}
        for node in self.graph_nodes():
            if node[0] == "inject":
                key, targets = self.trigger_edges(self.injects.get(node[1]))
                edges[node] = [(target, key) for target in targets]
                continue
            countdown = self.countdowns.get(node[1])
            running = ("countdown", countdown.id, RUNNING)
            if node[2] == RUNNING:
                edges[node] = [(t, "starts") for t in self.condition_nodes(countdown.starts)]
            elif node[2] == STOPPED:
                stops = self.condition_nodes(countdown.stops)
                edges[node] = [(running, "stops"), *((t, "stops") for t in stops)]
            else:
                edges[node] = [(running, "starts")]
        return edges

    # cycles

    def check_cycles(self) -> None:
        edges = self.edges()
        nodes = list(edges)
        order = {node: position for position, node in enumerate(nodes)}

        def successors(node: Node) -> list[Node]:
            return [target for target, _key in edges[node]]

        for component in sorted(
            strongly_connected(nodes, successors), key=lambda c: min(order[n] for n in c)
        ):
            members = set(component)
            if len(component) == 1 and component[0] not in successors(component[0]):
                continue
            for node in component:
                (self.cyclic if node[0] == "inject" else self.cyclic_countdowns).add(node[1])
            first = min(component, key=order.__getitem__)
            path, key = _shortest_cycle(first, members, edges)
            plain = all(node[0] == "inject" and self._single_cause(node[1]) for node in path)
            shown = " → ".join(_shown(path))
            message = (
                f"trigger cycle {shown}: none of these injects can ever fire"
                if plain
                else f"trigger cycle {shown}: a trigger may not wait for itself, even "
                "through 'any', a delay or a countdown"
            )
            if first[0] == "inject":
                where = ("injects", self.injects.by_id[first[1]][0], key)
            else:
                where = ("countdowns", self.countdowns.by_id[first[1]][0], key)
            self.report("trigger-cycle", message, where, key=True)

    def _single_cause(self, ident: str) -> bool:
        """Whether the inject waits for one thing only (then a cycle stops it for sure)."""
        inject = self.injects.get(ident)
        return inject.when is None or inject.when.any_ is None

    # what can never happen (warnings, on a document whose shape is valid)

    def warn_never_happens(self, doc: Scenario) -> None:
        edges = self.edges()
        nodes = list(edges)
        reads: dict[Node, set[Node]] = {
            node: {t for t, _k in targets} for node, targets in edges.items()
        }
        for node in nodes:
            if node[0] == "inject" and _automatic(inject := self.injects.get(node[1])):
                reads[node] |= set(self.condition_nodes(inject.if_))
        readers: dict[Node, set[Node]] = {}
        for node, targets in reads.items():
            for target in targets:
                readers.setdefault(target, set()).add(node)

        possible = self._possible(nodes, readers, forced=set())
        # What waits for something (trigger or `if`) happens after it: a cycle of such
        # waits can never start, which the least fixed point finds by itself. An inject
        # whose trigger can come but that still cannot fire is withheld by its `if`.
        for node in nodes:
            inject = self.injects.get(node[1]) if node[0] == "inject" else None
            if inject is None or node in possible or inject.id in self.cyclic:
                continue
            if _automatic(inject) and self._trigger_ok(inject, possible):
                self.withheld.add(inject.id)

        for index, inject in enumerate(doc.injects):
            if self.injects.get(inject.id) is not inject or inject.id in self.cyclic:
                continue
            if inject.id in self.withheld:
                why = self._withheld_reason(inject, possible, readers)
                self.report(
                    "if-never-holds",
                    f"inject '{inject.id}' would always be withheld: its 'if' can never hold "
                    f"({why})",
                    ("injects", index, "if"),
                    key=True,
                )
            elif ("inject", inject.id) not in possible:
                self.report(
                    "never-fires",
                    f"inject '{inject.id}' can never fire: "
                    + self._trigger_reason(inject, possible),
                    ("injects", index, inject.triggers[0]),
                    key=True,
                )
        for index, countdown in enumerate(doc.countdowns):
            if self.countdowns.get(countdown.id) is not countdown:
                continue
            if countdown.id in self.cyclic_countdowns:
                continue
            if ("countdown", countdown.id, RUNNING) not in possible:
                why = self._condition_reason(condition_json(countdown.starts), possible)
                self.report(
                    "countdown-never-starts",
                    f"countdown '{countdown.id}' can never start: its 'starts' can never hold "
                    f"({why})",
                    ("countdowns", index, "starts"),
                    key=True,
                )

    def _possible(self, nodes: list[Node], readers, *, forced: set[Node]) -> set[Node]:
        """The nodes that can happen, `forced` ones excepted (least fixed point)."""
        possible = {
            node
            for node in nodes
            if (
                node[1] in self.cyclic if node[0] == "inject" else node[1] in self.cyclic_countdowns
            )
        } - forced
        queue = deque(node for node in nodes if node not in possible and node not in forced)
        queued = set(queue)
        while queue:
            node = queue.popleft()
            queued.discard(node)
            if node in possible or not self._node_ok(node, possible):
                continue
            possible.add(node)
            for reader in readers.get(node, ()):
                if reader not in possible and reader not in queued and reader not in forced:
                    queue.append(reader)
                    queued.add(reader)
        return possible

    def _node_ok(self, node: Node, possible: set[Node]) -> bool:
        if node[0] == "inject":
            inject = self.injects.get(node[1])
            if not self._trigger_ok(inject, possible):
                return False
            return not _automatic(inject) or self._condition_ok(inject.if_, possible)
        countdown = self.countdowns.get(node[1])
        running = ("countdown", countdown.id, RUNNING) in possible
        if node[2] == RUNNING:
            return self._condition_ok(countdown.starts, possible)
        if node[2] == EXPIRED:
            return running
        return (
            running
            and countdown.stops is not None
            and self._condition_ok(countdown.stops, possible)
        )

    def _trigger_ok(self, inject: Inject, possible: set[Node]) -> bool:
        first = inject.triggers[0] if inject.triggers else "manual"
        if first == "after":
            target = self.injects.get(inject.after.inject)
            return target is None or ("inject", target.id) in possible
        if first == "when":
            data = when_json(inject.when, lenient=True)
            return not data or self._when_ok(data, possible)
        return True

    def _when_ok(self, data: dict, possible: set[Node]) -> bool:
        if "any" in data:
            return any(self._when_ok(branch, possible) for branch in data["any"])
        return self._atom_problem(data, possible) is None

    def _condition_ok(self, condition: Condition | None, possible: set[Node]) -> bool:
        data = condition_json(condition, lenient=True) if condition is not None else None
        return not data or self._json_ok(data, possible)

    def _json_ok(self, data: dict, possible: set[Node]) -> bool:
        kind = form(data)
        if kind == "all":
            children = data["all"]
            return all(self._json_ok(c, possible) for c in children) and not self._conflict(
                children
            )
        if kind == "any":
            return any(self._json_ok(child, possible) for child in data["any"])
        if kind == "not":
            return True
        return self._atom_problem(data, possible) is None

    def _atom_problem(self, atom: dict, possible: set[Node]) -> str | None:
        """Why this atom of a condition or `when` can never happen, or None.

        The reasons an inject's own trigger gives (no trainee, no deadline) come first;
        what it waits for is "waits"."""
        kind = form(atom)
        if kind == "decision":
            decision = self.injects.get(atom["decision"])
            if decision is None or decision.kind != "decision":
                return None
            if atom.get("option") == "none" and decision.deadline is None:
                return (
                    f"decision '{decision.id}' has no deadline, so option 'none' "
                    "(unanswered in time) never happens"
                )
            return None if ("inject", decision.id) in possible else "waits"
        if kind == "action":
            action = self.actions.get(atom["action"])
            if action is not None and not self.trainees & set(action.roles):
                return f"action '{action.id}' can be taken by no trainee"
            return None
        if kind == "request":
            request = self.requests.get(atom["request"])
            if request is None:
                return None
            if not self.trainees & set(request.senders):
                return f"request '{request.id}' can be sent by no trainee"
            if atom.get("outcome") == "none" and request.deadline is None:
                return (
                    f"request '{request.id}' has no deadline, so outcome 'none' "
                    "(unanswered in time) never happens"
                )
            return None
        node = self.atom_node(atom)
        return None if node is None or node in possible else "waits"

    # reasons, in words

    def _trigger_reason(self, inject: Inject, possible: set[Node]) -> str:
        if inject.triggers[0] == "after":
            return self._waits_for(("inject", inject.after.inject), possible)
        data = when_json(inject.when, lenient=True)
        return self._when_reason(data, possible)

    def _when_reason(self, data: dict, possible: set[Node]) -> str:
        if "any" in data:
            reasons = [self._when_reason(branch, possible) for branch in data["any"]]
            return f"none of its 'any' causes can ever happen ({'; '.join(reasons)})"
        problem = self._atom_problem(data, possible)
        return self._waits_for(self.atom_node(data), possible) if problem == "waits" else problem

    def _waits_for(self, node: Node, possible: set[Node]) -> str:
        if node[0] == "inject":
            if node[1] in self.withheld:
                return f"it waits for inject '{node[1]}', whose 'if' can never hold"
            return f"it waits for inject '{node[1]}', which can never fire"
        return self._countdown_reason(node, "it waits for ", possible)

    def _countdown_reason(self, node: Node, prefix: str, possible: set[Node]) -> str:
        countdown = self.countdowns.get(node[1])
        if node[2] == STOPPED and countdown.stops is None:
            return f"countdown '{countdown.id}' has no 'stops', so it is never stopped"
        if node[2] == STOPPED and ("countdown", countdown.id, RUNNING) in possible:
            return f"{prefix}countdown '{countdown.id}' to be stopped, which can never happen"
        return f"{prefix}countdown '{countdown.id}', which can never start"

    def _condition_reason(self, data: dict, possible: set[Node]) -> str:
        kind = form(data)
        if kind == "all":
            conflict = self._conflict(data["all"])
            if conflict:
                return conflict
            failing = next(c for c in data["all"] if not self._json_ok(c, possible))
            return self._condition_reason(failing, possible)
        if kind == "any":
            reasons = [self._condition_reason(c, possible) for c in data["any"]]
            return f"none of its 'any' conditions can hold ({'; '.join(reasons)})"
        problem = self._atom_problem(data, possible)
        if problem != "waits":
            return problem
        node = self.atom_node(data)
        if node[0] == "countdown":
            return self._countdown_reason(node, "", possible)
        if node[1] in self.withheld:
            return f"inject '{node[1]}' is always withheld"
        noun = "decision" if kind == "decision" else "inject"
        return f"{noun} '{node[1]}' can never fire"

    def _withheld_reason(self, inject: Inject, possible: set[Node], readers) -> str:
        data = condition_json(inject.if_)
        atom = self._failing_atom(data, possible)
        if atom is not None:
            node = self.atom_node(atom)
            if node is not None and node in _reachable(("inject", inject.id), readers):
                return f"{_describe(atom)} can only happen after this inject fires"
        return self._condition_reason(data, possible)

    def _failing_atom(self, data: dict, possible: set[Node]) -> dict | None:
        """The atom that keeps `data` from holding, following `all` only (None when
        the reason is a conflict or lies in an `any`)."""
        kind = form(data)
        if kind == "all":
            if self._conflict(data["all"]):
                return None
            failing = next(c for c in data["all"] if not self._json_ok(c, possible))
            return self._failing_atom(failing, possible)
        return None if kind in ("any", "not") else data

    def _conflict(self, children: list[dict]) -> str | None:
        """Why the conditions of one `all` can never hold together, or None."""
        positive: list[dict] = []
        negative: list[dict] = []
        stack = list(children)
        while stack:
            child = stack.pop()
            kind = form(child)
            if kind == "all":
                stack.extend(child["all"])
            elif kind == "not" and form(child["not"]) not in ("all", "any", "not"):
                negative.append(child["not"])
            elif kind not in ("any", "not"):
                positive.append(child)
        for atom in positive:
            if atom in negative:
                return f"it needs both {_describe(atom)} and its opposite"
        states: dict[str, set[str]] = {}
        outcomes: dict[str, set[str]] = {}
        for atom in positive:
            if "countdown" in atom:
                states.setdefault(atom["countdown"], set()).add(atom["state"])
            elif "request" in atom:
                outcomes.setdefault(atom["request"], set()).add(atom["outcome"])
        for ident, found in states.items():
            if len(found) > 1:
                first, second = sorted(found)[:2]
                return f"countdown '{ident}' cannot be both {first} and {second}"
        for ident, found in outcomes.items():
            request = self.requests.get(ident)
            final = found - {"sent"}
            clash = len(final - {"any"}) > 1 or {"any", "none"} <= final
            if request is not None and request.once and clash:
                first, second = sorted(final)[:2]
                return (
                    f"request '{ident}' is sent only once, so its outcome cannot be both "
                    f"{first} and {second}"
                )
        return None


def _automatic(inject: Inject) -> bool:
    """Whether it fires by itself (then its `if` is checked when its trigger comes)."""
    return bool(inject.triggers) and inject.triggers[0] != "manual"


def _when_atoms(data: dict) -> list[dict]:
    if "any" in data:
        return [atom for branch in data["any"] for atom in _when_atoms(branch)]
    return [data]


def _reachable(start: Node, reverse: dict[Node, set[Node]]) -> set[Node]:
    """The nodes that wait, directly or not, for `start`."""
    seen: set[Node] = set()
    queue = deque([start])
    while queue:
        for reader in reverse.get(queue.popleft(), ()):
            if reader not in seen:
                seen.add(reader)
                queue.append(reader)
    return seen


def _shortest_cycle(first: Node, members: set[Node], edges) -> tuple[list[Node], str]:
    """The shortest way from `first` back to itself, and the key of its first step."""
    parents: dict[Node, Node] = {}
    queue = deque([first])
    while queue:
        node = queue.popleft()
        for target, _key in edges[node]:
            if target == first:
                path = [node]
                while path[-1] != first:
                    path.append(parents[path[-1]])
                path.reverse()
                second = path[1] if len(path) > 1 else first
                return [*path, first], next(k for t, k in edges[first] if t == second)
            if target in members and target not in parents:
                parents[target] = node
                queue.append(target)
    raise ValueError(f"{first} is on no cycle")


def _shown(path: Iterable[Node]) -> list[str]:
    shown: list[str] = []
    for node in path:
        word = node[1] if node[0] == "inject" else f"countdown {node[1]}"
        if not shown or shown[-1] != word or node[0] == "inject":
            shown.append(word)
    return shown


def _describe(atom: dict) -> str:
    kind = form(atom)
    if kind == "inject":
        return f"inject '{atom['inject']}'"
    if kind == "decision":
        return f"answer '{atom['option']}' to decision '{atom['decision']}'"
    if kind == "action":
        return f"action '{atom['action']}'"
    if kind == "request":
        return f"request '{atom['request']}' {atom['outcome']}"
    return f"countdown '{atom['countdown']}' {atom['state']}"

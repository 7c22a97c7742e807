"""Read-side queries of the scenario library (HackSoft style: keyword-only, typed).

Views and templates get plain data from here: the latest version of each scenario for
the library, a version with its roles, phases, injects and objectives for the scenario
page, what one role receives, and the line diff between two versions.

Everything a version holds is small (tens of roles, a few hundred injects at most), so
a version is read in a handful of queries and then sorted and filtered in Python. That
also keeps search identical on SQLite and PostgreSQL: accents and case are folded the
same way everywhere ("traite" finds "Traité"), which SQLite's LIKE cannot do.
"""

from __future__ import annotations

import difflib
import math
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from scenarios.models import (
    Action,
    Attachment,
    Inject,
    Objective,
    Phase,
    Role,
    Scenario,
    ScenarioVersion,
    VersionReview,
)

# --- helpers ---------------------------------------------------------------------------


def fold(text: str) -> str:
    """Case- and accent-insensitive form of `text`, for search."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


ROLE_KIND_ORDER = [Role.Kind.TRAINEE, Role.Kind.ACTOR, Role.Kind.OBSERVER]
INJECT_KIND_ORDER = [kind for kind, _label in Inject.Kind.choices]


# --- the library -----------------------------------------------------------------------


def runnable_versions() -> Q:
    """Versions that may start a live session: imported, or approved on review."""
    return Q(review__isnull=True) | Q(review__state=VersionReview.State.APPROVED)


def _latest_versions() -> QuerySet[ScenarioVersion]:
    siblings = ScenarioVersion.objects.filter(scenario=OuterRef("scenario")).order_by()
    # The library offers what may run: a version awaiting review is seen in its history.
    latest_number = siblings.filter(runnable_versions()).order_by("-number").values("number")[:1]
    version_count = siblings.values("scenario").annotate(n=Count("pk")).values("n")
    role_count = (
        Role.objects.filter(version=OuterRef("pk"))
        .order_by()
        .values("version")
        .annotate(n=Count("pk"))
        .values("n")
    )
    inject_count = (
        Inject.objects.filter(version=OuterRef("pk"))
        .order_by()
        .values("version")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        ScenarioVersion.objects.filter(number=Subquery(latest_number), scenario__preview=False)
        .select_related("scenario")
        .annotate(
            version_count=Coalesce(Subquery(version_count), 0),
            role_count=Coalesce(Subquery(role_count), 0),
            inject_count=Coalesce(Subquery(inject_count), 0),
        )
    )


def _matches(version: ScenarioVersion, terms: list[str]) -> bool:
    haystack = fold(
        " ".join([version.title, version.summary, version.scenario.slug, *version.tags])
    )
    return all(term in haystack for term in terms)


def scenario_list(*, search: str = "", tag: str = "", language: str = "") -> list[ScenarioVersion]:
    """The latest version of every scenario, annotated with `version_count`,
    `role_count` and `inject_count`, ordered by title.

    `search` keeps versions whose title, summary, slug or tags contain every word of
    it (case and accents ignored); `tag` and `language` are exact filters.
    """
    terms = [fold(word) for word in search.split()]
    versions = []
    for version in _latest_versions():
        if terms and not _matches(version, terms):
            continue
        if tag and tag not in version.tags:
            continue
        if language and version.language != language:
            continue
        versions.append(version)
    versions.sort(key=lambda v: (fold(v.title), v.scenario.slug))
    return versions


@dataclass(frozen=True)
class LibraryFacets:
    tags: list[str]
    languages: list[str]


def scenario_facets() -> LibraryFacets:
    """The tags and languages used by latest versions: the library's filter choices."""
    tags: set[str] = set()
    languages: set[str] = set()
    for tag_list, language in _latest_versions().values_list("tags", "language"):
        tags.update(tag_list or [])
        languages.add(language)
    return LibraryFacets(tags=sorted(tags, key=fold), languages=sorted(languages))


# --- one version -----------------------------------------------------------------------


def version_get(*, slug: str, number: int | None = None) -> ScenarioVersion:
    """Version `number` of scenario `slug`, or its latest version when `number` is None.

    Raises ScenarioVersion.DoesNotExist (also when the slug is unknown).
    """
    versions = ScenarioVersion.objects.select_related("scenario", "imported_by").filter(
        scenario__slug=slug
    )
    if number is None:
        version = versions.order_by("-number").first()
        if version is None:
            raise ScenarioVersion.DoesNotExist(slug)
        return version
    return versions.get(number=number)


def scenario_get(*, slug: str) -> Scenario:
    """Raises Scenario.DoesNotExist."""
    return Scenario.objects.get(slug=slug)


def version_list(*, scenario: Scenario) -> list[ScenarioVersion]:
    """Every version of `scenario`, newest first, with `role_count` and `inject_count`."""
    return list(
        scenario.versions.select_related("imported_by")
        .annotate(
            role_count=Count("roles", distinct=True),
            inject_count=Count("injects", distinct=True),
        )
        .order_by("-number")
    )


@dataclass(frozen=True)
class RoleCard:
    role: Role
    # Who the role may message live: its explicit `contacts`, or every trainee role.
    contacts: list[Role]
    receives: int  # how many injects reach it


@dataclass(frozen=True)
class RoleGroup:
    kind: str
    label: str
    cards: list[RoleCard]


def version_roles(*, version: ScenarioVersion) -> list[RoleGroup]:
    """The roles of `version` grouped by kind (trainees, actors, observers), file order.

    Kinds with no role are left out.
    """
    roles = list(version.roles.prefetch_related("contacts").order_by("order"))
    trainees = [role for role in roles if role.kind == Role.Kind.TRAINEE]
    rows = _inject_rows(version)
    groups = []
    for kind in ROLE_KIND_ORDER:
        cards = []
        for role in roles:
            if role.kind != kind:
                continue
            if role.contacts_explicit:
                contacts = sorted(role.contacts.all(), key=lambda r: r.order)
            else:
                contacts = [other for other in trainees if other.pk != role.pk]
            receives = sum(1 for row in rows if _reaches(row, role))
            cards.append(RoleCard(role=role, contacts=contacts, receives=receives))
        if cards:
            groups.append(RoleGroup(kind=kind, label=Role.Kind(kind).label, cards=cards))
    return groups


def role_choices(*, version: ScenarioVersion) -> list[Role]:
    return list(version.roles.order_by("order"))


# --- phases: the trainer's timeline ----------------------------------------------------


@dataclass(frozen=True)
class PhaseSpan:
    phase: Phase
    start_s: int | None  # as written in the file (None: not given)
    placed_s: float  # where it is drawn (interpolated when `starts` is missing)
    end_s: float
    offset_pct: float
    width_pct: float
    inject_count: int
    index: int


@dataclass(frozen=True)
class TimelineMark:
    row: InjectRow
    offset_pct: float


@dataclass(frozen=True)
class Timeline:
    total_s: int
    phases: list[PhaseSpan]
    ticks: list[tuple[int, float]]  # (seconds, offset %)
    marks: list[TimelineMark] = field(default_factory=list)

    @property
    def proportional(self) -> bool:
        return self.total_s > 0


def _tick_step(total_s: int) -> int:
    for step in (60, 120, 300, 600, 900, 1800, 3600, 7200):
        if total_s / step <= 10:
            return step
    return 3600 * math.ceil(total_s / 36000)


def phase_timeline(*, version: ScenarioVersion) -> Timeline:
    """Phases placed on the exercise clock, proportional to their `starts`.

    A phase without `starts` is placed halfway between its known neighbours; the end of
    the line is the planned duration, or the last planned time if that is later.
    """
    phases = list(version.phases.annotate(n_injects=Count("injects")).order_by("order"))
    rows = _inject_rows(version)
    known = [p.starts_s for p in phases if p.starts_s is not None]
    planned = [row.planned_s for row in rows if row.planned_s is not None]
    total = max([version.duration_s or 0, *known, *planned], default=0)
    if total and known and max(known) >= total:
        total = max(known) + max(total // 10, 60)  # the last phase needs some width

    placed: list[float] = []
    for index, phase in enumerate(phases):
        if phase.starts_s is not None:
            placed.append(float(phase.starts_s))
            continue
        before = placed[-1] if placed else 0.0
        after = next(
            (float(p.starts_s) for p in phases[index + 1 :] if p.starts_s is not None),
            float(total),
        )
        placed.append(before + (after - before) / 2 if placed else 0.0)

    spans = []
    count = len(phases)
    for index, phase in enumerate(phases):
        if total:
            start = placed[index]
            end = placed[index + 1] if index + 1 < count else float(total)
            offset, width = 100 * start / total, 100 * max(end - start, 0) / total
        else:  # nothing timed at all: equal shares, in order
            start = end = 0.0
            offset, width = 100 * index / count, 100 / count
        spans.append(
            PhaseSpan(
                phase=phase,
                start_s=phase.starts_s,
                placed_s=start,
                end_s=end,
                offset_pct=round(offset, 3),
                width_pct=round(width, 3),
                inject_count=phase.n_injects,
                index=index,
            )
        )

    ticks = []
    marks = []
    if total:
        step = _tick_step(total)
        ticks = [(s, round(100 * s / total, 3)) for s in range(0, total + 1, step)]
        marks = [
            TimelineMark(row=row, offset_pct=round(100 * row.planned_s / total, 3))
            for row in rows
            if row.planned_s is not None
        ]
    return Timeline(total_s=total, phases=spans, ticks=ticks, marks=marks)


# --- injects: the MSEL -----------------------------------------------------------------


@dataclass(frozen=True)
class InjectRow:
    inject: Inject
    recipients: list[Role]
    # Clock time at which it is planned to fire: exact for `at`, derived through `after`
    # chains and decision deadlines (`estimated`), None when it depends on people.
    planned_s: int | None
    estimated: bool
    # Where it sits in timeline order: the planned time, else its phase's start.
    sort_s: int | None
    option_label: str = ""  # the label of `when.option` for decision-triggered injects

    @property
    def audience(self) -> str:
        if self.inject.to_all or not self.inject.to_given:
            return "all"
        return ", ".join(role.title for role in self.recipients)


SORT_KEYS = ("time", "phase", "kind", "to", "title")


def _inject_queryset(version: ScenarioVersion) -> QuerySet[Inject]:
    return (
        version.injects.select_related("phase", "after_inject", "when_decision", "when_action")
        .prefetch_related(
            Prefetch("recipients", queryset=Role.objects.order_by("order")),
            Prefetch(
                "attachments",
                queryset=Attachment.objects.select_related("blob")
                .defer("blob__data")
                .order_by("order"),
            ),
        )
        .order_by("order")
    )


def _inject_rows(version: ScenarioVersion) -> list[InjectRow]:
    """Every inject of `version` in file order, with its planned time worked out."""
    # Memoised per version object: the scenario page asks for it several times.
    cached = getattr(version, "_inject_rows_cache", None)
    if cached is not None:
        return cached
    injects = list(_inject_queryset(version))
    by_id = {inject.pk: inject for inject in injects}
    planned: dict[int, tuple[int | None, bool, int | None]] = {}

    unknown: tuple[int | None, bool, int | None] = (None, False, None)

    def parent_of(inject: Inject) -> Inject | None:
        if inject.trigger == Inject.Trigger.AFTER:
            return by_id.get(inject.after_inject_id)
        if inject.trigger == Inject.Trigger.DECISION:
            return by_id.get(inject.when_decision_id)
        return None

    def own_plan(inject: Inject, parent: tuple) -> tuple:
        """(planned_s, estimated, lower bound for ordering), given the parent's plan."""
        parent_s, _est, parent_bound = parent
        if inject.trigger == Inject.Trigger.AT and inject.at_s is not None:
            return (inject.at_s, False, inject.at_s)
        if inject.trigger == Inject.Trigger.AFTER and inject.after_inject_id in by_id:
            delay = inject.after_delay_s or 0
            bound = None if parent_bound is None else parent_bound + delay
            return (None if parent_s is None else parent_s + delay, True, bound)
        if inject.trigger == Inject.Trigger.DECISION and inject.when_decision_id in by_id:
            decision = by_id[inject.when_decision_id]
            if inject.when_option == Inject.OPTION_NONE and decision.deadline_s is not None:
                deadline = decision.deadline_s
                exact = None if parent_s is None else parent_s + deadline
                bound = None if parent_bound is None else parent_bound + deadline
                return (exact, True, bound)
            # Fires whenever a trainee answers: no time, but not before the question.
            return (None, False, parent_bound)
        return unknown

    def plan(root: Inject) -> tuple:
        # Iterative, parents first: trigger chains can be longer than the recursion limit.
        stack, on_stack = [root], {root.pk}
        while stack:
            inject = stack[-1]
            parent = parent_of(inject)
            if parent is not None and parent.pk not in planned and parent.pk not in on_stack:
                stack.append(parent)
                on_stack.add(parent.pk)
                continue
            # A parent still on the stack is a cycle (the importer refuses them): unknown.
            parent_plan = planned.get(parent.pk, unknown) if parent is not None else unknown
            planned[inject.pk] = own_plan(inject, parent_plan)
            stack.pop()
            on_stack.discard(inject.pk)
        return planned[root.pk]

    rows = []
    for inject in injects:
        planned_s, estimated, bound = plan(inject)
        if bound is None and inject.phase is not None:
            bound = inject.phase.starts_s
        option_label = ""
        if inject.when_decision is not None and inject.when_option:
            option_label = next(
                (
                    option.get("label", option["id"])
                    for option in inject.when_decision.options or []
                    if option.get("id") == inject.when_option
                ),
                inject.when_option,
            )
        rows.append(
            InjectRow(
                inject=inject,
                recipients=list(inject.recipients.all()),
                planned_s=planned_s,
                estimated=estimated,
                sort_s=bound,
                option_label=option_label,
            )
        )
    version._inject_rows_cache = rows
    return rows


def _time_key(row: InjectRow) -> tuple:
    return (row.sort_s is None, row.sort_s or 0, row.inject.order)


def _column_key(sort: str):
    """The key of one MSEL column; ties keep time order (see inject_timeline)."""
    if sort == "phase":
        return lambda row: (
            row.inject.phase is None,
            row.inject.phase.order if row.inject.phase else 0,
        )
    if sort == "kind":
        return lambda row: INJECT_KIND_ORDER.index(row.inject.kind)
    if sort == "to":
        return lambda row: fold(row.audience)
    if sort == "title":
        return lambda row: fold(row.inject.title)
    return _time_key


def parse_sort(sort: str) -> tuple[str, bool]:
    """`"-kind"` → `("kind", True)`; unknown keys fall back to time order."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in SORT_KEYS:
        return "time", False
    return key, descending


def _reaches(row: InjectRow, role: Role) -> bool:
    """Does the inject of `row` reach `role` in a live session?

    The engine's rule (`Inject.is_public`, then the resolved recipients); an observer
    sees whatever reaches some role.
    """
    if row.inject.is_public:
        return True
    if role.kind == Role.Kind.OBSERVER:
        return bool(row.recipients)
    return any(recipient.pk == role.pk for recipient in row.recipients)


def inject_timeline(
    *,
    version: ScenarioVersion,
    role: str = "",
    kind: str = "",
    sort: str = "time",
) -> list[InjectRow]:
    """The MSEL of `version`: its injects, optionally only those reaching role `role`
    (an ident) and of kind `kind`, sorted by `sort` (one of SORT_KEYS, `-` prefix for
    descending; anything else means time order; rows that tie stay in time order).
    An unknown role or kind matches nothing.
    """
    rows = _inject_rows(version)
    if role:
        target = version.roles.filter(ident=role).first()
        rows = [row for row in rows if target is not None and _reaches(row, target)]
    if kind:
        rows = [row for row in rows if row.inject.kind == kind]
    key, descending = parse_sort(sort)
    if key == "time":
        return sorted(rows, key=_time_key, reverse=descending)
    # Two stable sorts: by the column (either way), rows that tie stay in time order.
    return sorted(sorted(rows, key=_time_key), key=_column_key(key), reverse=descending)


def role_receives(*, version: ScenarioVersion, role: Role) -> list[InjectRow]:
    """What `role` gets during a session, in timeline order: the injects addressed to
    it (`to: all` included) and broadcasts to everyone. Observers see what any role gets.
    """
    return [row for row in sorted(_inject_rows(version), key=_time_key) if _reaches(row, role)]


def version_inject_kinds(*, version: ScenarioVersion) -> list[str]:
    """The inject kinds `version` uses, in the canonical kind order."""
    used = set(version.injects.values_list("kind", flat=True))
    return [kind for kind in INJECT_KIND_ORDER if kind in used]


# --- objectives, actions, attachments --------------------------------------------------


@dataclass(frozen=True)
class ObjectiveRow:
    objective: Objective
    roles: list[Role]
    option_label: str


def objective_list(*, version: ScenarioVersion) -> list[ObjectiveRow]:
    objectives = (
        version.objectives.select_related(
            "measure_decision", "measure_action", "measure_from", "measure_to"
        )
        .prefetch_related(Prefetch("roles", queryset=Role.objects.order_by("order")))
        .order_by("order")
    )
    rows = []
    for objective in objectives:
        label = objective.measure_option
        decision = objective.measure_decision
        if decision is not None:
            label = next(
                (
                    option.get("label", option["id"])
                    for option in decision.options or []
                    if option.get("id") == objective.measure_option
                ),
                objective.measure_option,
            )
        rows.append(
            ObjectiveRow(objective=objective, roles=list(objective.roles.all()), option_label=label)
        )
    return rows


def action_list(*, version: ScenarioVersion) -> list[Action]:
    return list(
        version.actions.prefetch_related(
            Prefetch("roles", queryset=Role.objects.order_by("order"))
        ).order_by("order")
    )


def attachment_list(*, version: ScenarioVersion) -> list[Attachment]:
    """Every attachment of `version` (without the bytes), in inject then file order."""
    return list(
        Attachment.objects.filter(inject__version=version)
        .select_related("inject", "blob")
        .defer("blob__data")
        .order_by("inject__order", "order")
    )


def attachment_get(*, version: ScenarioVersion, attachment_id: int) -> Attachment:
    """The attachment `attachment_id` of `version`, with its bytes.

    Raises Attachment.DoesNotExist when it belongs to another version.
    """
    return Attachment.objects.select_related("blob", "inject").get(
        pk=attachment_id, inject__version=version
    )


# --- history ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "hunk", "context", "added", "removed"
    old_no: int | None
    new_no: int | None
    text: str


def text_diff(*, old: str, new: str, context: int = 3) -> list[DiffLine]:
    """Unified diff of two texts as rows with their old and new line numbers."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    rows: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        header = f"@@ -{first[1] + 1},{last[2] - first[1]} +{first[3] + 1},{last[4] - first[3]} @@"
        rows.append(DiffLine(kind="hunk", old_no=None, new_no=None, text=header))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows.extend(
                    DiffLine("context", i + 1, j + 1, old_lines[i])
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                )
                continue
            if tag in ("replace", "delete"):
                rows.extend(DiffLine("removed", i + 1, None, old_lines[i]) for i in range(i1, i2))
            if tag in ("replace", "insert"):
                rows.extend(DiffLine("added", None, j + 1, new_lines[j]) for j in range(j1, j2))
    return rows


def diff_stats(lines: Iterable[DiffLine]) -> tuple[int, int]:
    """(added, removed) line counts."""
    added = removed = 0
    for line in lines:
        added += line.kind == "added"
        removed += line.kind == "removed"
    return added, removed

"""Read-side queries of the scenario library."""

from __future__ import annotations

import pytest

from scenarios import selectors
from scenarios.models import Attachment, ScenarioVersion
from tests.factories import (
    InjectFactory,
    PhaseFactory,
    RoleFactory,
    ScenarioFactory,
    ScenarioVersionFactory,
)
from tests.scenarios.library_builders import build_version

pytestmark = pytest.mark.django_db


def idents(rows) -> list[str]:
    return [row.inject.ident for row in rows]


# --- the library ---------------------------------------------------------------------


def test_scenario_list_gives_the_latest_version_with_counts():
    build_version(slug="traite", number=1)
    built = build_version(slug="traite", number=2, title="Traite, deuxième version")
    other = ScenarioVersionFactory(scenario=ScenarioFactory(slug="autre"), number=1, title="Autre")

    versions = selectors.scenario_list()

    assert [v.pk for v in versions] == [other.pk, built.version.pk]  # by title
    latest = versions[1]
    assert (latest.version_count, latest.role_count, latest.inject_count) == (2, 5, 9)
    assert (versions[0].version_count, versions[0].role_count, versions[0].inject_count) == (
        1,
        0,
        0,
    )


def test_search_ignores_case_and_accents_and_needs_every_word():
    build_version(slug="traite", title="Traite des mineures nigérianes", tags=["Prostitution"])
    ScenarioVersionFactory(
        scenario=ScenarioFactory(slug="vols"), title="Mineurs contraints à voler", tags=[]
    )

    def found(search):
        return [v.scenario.slug for v in selectors.scenario_list(search=search)]

    assert found("NIGERIANES") == ["traite"]
    assert found("mineur") == ["vols", "traite"]  # "Mineurs …" sorts before "Traite …"
    assert found("mineur voler") == ["vols"]
    assert found("prostitution") == ["traite"]  # tags
    assert found("repérée") == ["traite"]  # summary
    assert found("vols") == ["vols"]  # slug
    assert found("introuvable") == []


def test_tag_and_language_filters_are_exact():
    build_version(slug="fr-one", tags=["traite", "mineurs"])
    build_version(slug="en-one", language="en", tags=["traite-adultes"])

    assert [v.scenario.slug for v in selectors.scenario_list(tag="traite")] == ["fr-one"]
    assert [v.scenario.slug for v in selectors.scenario_list(language="en")] == ["en-one"]
    assert selectors.scenario_list(tag="traite", language="en") == []
    facets = selectors.scenario_facets()
    assert facets.tags == ["mineurs", "traite", "traite-adultes"]
    assert facets.languages == ["en", "fr"]


def test_facets_come_from_latest_versions_only():
    build_version(slug="s", number=1, tags=["ancien"])
    build_version(slug="s", number=2, tags=["nouveau"])
    assert selectors.scenario_facets().tags == ["nouveau"]


# --- one version ---------------------------------------------------------------------


def test_version_get_latest_or_numbered():
    v1 = build_version(slug="s", number=1).version
    v2 = build_version(slug="s", number=2).version

    assert selectors.version_get(slug="s") == v2
    assert selectors.version_get(slug="s", number=1) == v1
    with pytest.raises(ScenarioVersion.DoesNotExist):
        selectors.version_get(slug="s", number=3)
    with pytest.raises(ScenarioVersion.DoesNotExist):
        selectors.version_get(slug="unknown")


def test_roles_are_grouped_by_kind_with_default_contacts():
    built = build_version()
    groups = selectors.version_roles(version=built.version)

    assert [g.kind for g in groups] == ["trainee", "actor", "observer"]
    trainees = {card.role.ident: card for card in groups[0].cards}
    assert list(trainees) == ["police", "parquet", "avocat"]
    # No `contacts` in the file: every other trainee role.
    assert [r.ident for r in trainees["police"].contacts] == ["parquet", "avocat"]
    # Explicit contacts are kept as given.
    assert [r.ident for r in trainees["avocat"].contacts] == ["parquet"]
    assert trainees["parquet"].receives == 3  # call, decision, `to: all` broadcast
    observer = groups[2].cards[0]
    assert observer.receives == 9  # observers see everything


def test_inject_timeline_orders_by_planned_time():
    built = build_version()
    rows = selectors.inject_timeline(version=built.version)

    assert idents(rows) == [
        "signalement",  # at 2m
        "appel-parquet",  # 3m after it: 5m (estimated)
        "cue-joy",  # at 5m, after appel-parquet in file order
        "placement",  # at 10m
        "foyer",  # on an answer to placement: not before 10m, file order after it
        "relance",  # deadline of placement passed: 15m (estimated)
        "interprete-arrive",  # on an action: no time, phase "audition" starts at 20m
        "annonce",  # at 40m
        "note-avocat",  # manual, no phase: last
    ]
    by_ident = {row.inject.ident: row for row in rows}
    assert (by_ident["signalement"].planned_s, by_ident["signalement"].estimated) == (120, False)
    assert (by_ident["appel-parquet"].planned_s, by_ident["appel-parquet"].estimated) == (300, True)
    assert by_ident["relance"].planned_s == 900
    assert by_ident["foyer"].planned_s is None
    assert by_ident["foyer"].option_label == "Ordonnance de placement"
    assert by_ident["annonce"].audience == "all"


@pytest.mark.parametrize(
    ("sort", "expected_first", "expected_last"),
    [
        ("title", "appel-parquet", "signalement"),
        ("-title", "signalement", "appel-parquet"),
        ("kind", "signalement", "annonce"),  # message … broadcast, the model's order
        ("-kind", "annonce", "note-avocat"),  # ties stay in time order
        ("phase", "signalement", "note-avocat"),  # no phase last
        ("-time", "note-avocat", "signalement"),
        ("bogus", "signalement", "note-avocat"),  # unknown: time order
    ],
)
def test_inject_timeline_sorts(sort, expected_first, expected_last):
    built = build_version()
    rows = selectors.inject_timeline(version=built.version, sort=sort)
    assert (rows[0].inject.ident, rows[-1].inject.ident) == (expected_first, expected_last)


def test_inject_timeline_filters_by_role_and_kind():
    built = build_version()
    version = built.version

    police = selectors.inject_timeline(version=version, role="police")
    assert idents(police) == ["signalement", "relance", "interprete-arrive", "annonce"]
    messages = selectors.inject_timeline(version=version, role="police", kind="message")
    assert idents(messages) == ["signalement", "relance"]
    assert selectors.inject_timeline(version=version, role="nobody") == []
    assert idents(selectors.inject_timeline(version=version, kind="cue")) == ["cue-joy"]


def test_role_receives_includes_to_all_and_excludes_the_rest():
    built = build_version()
    rows = selectors.role_receives(version=built.version, role=built.roles["avocat"])
    assert idents(rows) == ["foyer", "annonce", "note-avocat"]

    actor = selectors.role_receives(version=built.version, role=built.roles["joy"])
    assert idents(actor) == ["cue-joy", "annonce"]


def test_a_broadcast_to_all_reaches_every_seat_like_the_engine_says():
    built = build_version()
    extra = RoleFactory(version=built.version, ident="asso", order=9, title="Association")
    rows = selectors.role_receives(version=built.version, role=extra)
    assert idents(rows) == ["annonce"]


def test_other_injects_to_all_reach_their_resolved_recipients():
    built = build_version()
    InjectFactory(
        version=built.version,
        ident="consignes",
        order=20,
        to_all=True,
        recipients=[built.roles["police"], built.roles["parquet"]],
    )
    assert "consignes" in idents(
        selectors.role_receives(version=built.version, role=built.roles["parquet"])
    )
    assert "consignes" not in idents(
        selectors.role_receives(version=built.version, role=built.roles["joy"])
    )


def test_observers_receive_everything():
    built = build_version()
    rows = selectors.role_receives(version=built.version, role=built.roles["obs"])
    assert len(rows) == 9
    InjectFactory(version=built.version, ident="trainer-only", order=30, recipients=[])
    rows = selectors.role_receives(version=built.version, role=built.roles["obs"])
    assert "trainer-only" not in idents(rows)  # no role gets it: nor do observers


def test_phase_timeline_is_proportional_to_starts():
    built = build_version(duration_s=3600)
    timeline = selectors.phase_timeline(version=built.version)

    assert timeline.total_s == 3600
    spans = {span.phase.ident: span for span in timeline.phases}
    assert (spans["reperage"].offset_pct, spans["reperage"].width_pct) == (0, 33.333)
    assert spans["audition"].offset_pct == 33.333
    # No `starts`: halfway between the previous phase and the end.
    assert spans["suites"].start_s is None
    assert spans["suites"].placed_s == 2400
    assert spans["suites"].offset_pct + spans["suites"].width_pct == pytest.approx(100)
    assert [s for s, _pct in timeline.ticks][:3] == [0, 600, 1200]
    assert len(timeline.marks) == 6  # injects with a planned time


def test_phase_timeline_without_any_time_gives_equal_shares():
    version = ScenarioVersionFactory(duration_s=None)
    PhaseFactory(version=version, order=0)
    PhaseFactory(version=version, order=1)
    timeline = selectors.phase_timeline(version=version)
    assert not timeline.proportional
    assert [(s.offset_pct, s.width_pct) for s in timeline.phases] == [(0, 50), (50, 50)]


def test_objectives_have_their_option_label():
    built = build_version()
    rows = selectors.objective_list(version=built.version)
    assert [row.objective.ident for row in rows] == ["placer", "interpreter", "echanger", "posture"]
    assert rows[0].option_label == "Ordonnance de placement"
    assert [r.ident for r in rows[0].roles] == ["parquet"]


def test_attachment_get_belongs_to_the_version():
    first = build_version(slug="a")
    second = build_version(slug="b")

    found = selectors.attachment_get(version=first.version, attachment_id=first.attachment.pk)
    assert bytes(found.blob.data).startswith(b"%PDF")
    with pytest.raises(Attachment.DoesNotExist):
        selectors.attachment_get(version=first.version, attachment_id=second.attachment.pk)
    assert [a.pk for a in selectors.attachment_list(version=second.version)] == [
        second.attachment.pk
    ]


def test_version_list_newest_first_with_counts():
    build_version(slug="s", number=1)
    build_version(slug="s", number=2)
    versions = selectors.version_list(scenario=ScenarioFactory(slug="s"))
    assert [(v.number, v.role_count, v.inject_count) for v in versions] == [(2, 5, 9), (1, 5, 9)]


# --- diff ----------------------------------------------------------------------------


def test_text_diff_numbers_lines_and_marks_changes():
    old = "a\nb\nc\nd\n"
    new = "a\nB\nc\nd\ne\n"
    lines = selectors.text_diff(old=old, new=new, context=1)

    kinds = [(line.kind, line.old_no, line.new_no, line.text) for line in lines]
    assert kinds[0][0] == "hunk"
    assert ("removed", 2, None, "b") in kinds
    assert ("added", None, 2, "B") in kinds
    assert ("added", None, 5, "e") in kinds
    assert selectors.diff_stats(lines) == (2, 1)
    assert selectors.text_diff(old=old, new=old) == []


@pytest.mark.django_db
def test_a_trigger_chain_longer_than_the_recursion_limit_is_planned():
    from scenarios import selectors
    from scenarios.models import Inject
    from tests.factories import InjectFactory, RoleFactory, ScenarioVersionFactory

    version = ScenarioVersionFactory()
    role = RoleFactory(version=version)
    parent = InjectFactory(version=version, order=0, trigger=Inject.Trigger.AT, at_s=10,
                           recipients=[role])
    for n in range(1, 1500):
        parent = InjectFactory(version=version, order=n, trigger=Inject.Trigger.AFTER,
                               after_inject=parent, after_delay_s=1, recipients=[role])
    rows = selectors.inject_timeline(version=version, role="", kind="", sort="")
    assert rows[-1].planned_s == 10 + 1499

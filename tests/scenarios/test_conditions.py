"""Conditions over facts, and measures over a timeline of what happened."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.conditions import (
    ConditionError,
    Facts,
    MeasureScore,
    Occurrence,
    Timeline,
    atoms,
    holds,
    positive_atoms,
    referenced_ids,
)
from scenarios.format import check_scenario
from scenarios.format.stored import condition_json, measure_json
from tests.scenarios.format_helpers import DATA

MIN = 60_000

FACTS = Facts.of(
    fired=["appel", "statut"],
    answers={"statut": ["victime"], "age": ["none"], "libre": [""]},
    actions=["interprete"],
    requests={"prolongation": ["sent", "approved"], "perquisition": ["sent"]},
    countdowns={"gav": "running", "retenue": "expired"},
)


class TestHolds:
    @pytest.mark.parametrize(
        ("condition", "expected"),
        [
            ({"inject": "appel"}, True),
            ({"inject": "relance"}, False),
            ({"decision": "statut", "option": "victime"}, True),
            ({"decision": "statut", "option": "auteur"}, False),
            ({"decision": "statut", "option": "any"}, True),
            ({"decision": "statut", "option": "none"}, False),
            ({"decision": "age", "option": "none"}, True),
            ({"decision": "age", "option": "any"}, False),  # a missed deadline is no answer
            ({"decision": "libre", "option": "any"}, True),  # a free-text answer is one
            ({"decision": "jamais", "option": "any"}, False),
            ({"action": "interprete"}, True),
            ({"action": "medecin"}, False),
            ({"request": "prolongation", "outcome": "approved"}, True),
            ({"request": "prolongation", "outcome": "any"}, True),
            ({"request": "prolongation", "outcome": "rejected"}, False),
            ({"request": "perquisition", "outcome": "sent"}, True),
            ({"request": "perquisition", "outcome": "any"}, False),  # not decided yet
            ({"request": "perquisition", "outcome": "none"}, False),
            ({"countdown": "gav", "state": "running"}, True),
            ({"countdown": "gav", "state": "expired"}, False),
            ({"countdown": "retenue", "state": "expired"}, True),
            ({"countdown": "jamais", "state": "running"}, False),  # not started
            ({"all": [{"inject": "appel"}, {"action": "interprete"}]}, True),
            ({"all": [{"inject": "appel"}, {"action": "medecin"}]}, False),
            ({"any": [{"inject": "relance"}, {"action": "interprete"}]}, True),
            ({"any": [{"inject": "relance"}, {"action": "medecin"}]}, False),
            ({"not": {"decision": "statut", "option": "auteur"}}, True),
            ({"not": {"all": [{"inject": "appel"}, {"not": {"inject": "relance"}}]}}, False),
        ],
    )
    def test_every_form(self, condition, expected):
        assert holds(condition, FACTS) is expected

    def test_nothing_has_happened(self):
        assert holds({"not": {"inject": "appel"}}, Facts())
        assert not holds({"any": [{"inject": "appel"}, {"action": "a"}]}, Facts())

    def test_a_measure_is_not_a_condition(self):
        with pytest.raises(ConditionError):
            holds({"message": {"from": "a", "to": "b"}}, FACTS)
        with pytest.raises(ConditionError):
            holds({"nothing": 1}, FACTS)

    def test_facts_take_any_iterables_and_known_states(self):
        facts = Facts.of(fired=(i for i in ["a"]), answers={"d": {"x"}})
        assert facts.fired == frozenset({"a"}) and facts.answers == {"d": frozenset({"x"})}
        with pytest.raises(ConditionError, match="paused"):
            Facts.of(countdowns={"gav": "paused"})


class TestWalking:
    CONDITION = {
        "all": [
            {"inject": "a"},
            {"not": {"decision": "d", "option": "x"}},
            {"any": [{"countdown": "c", "state": "expired"}, {"request": "r", "outcome": "sent"}]},
        ]
    }

    def test_atoms_with_their_paths(self):
        assert list(atoms(self.CONDITION)) == [
            (("all", 0), {"inject": "a"}),
            (("all", 1, "not"), {"decision": "d", "option": "x"}),
            (("all", 2, "any", 0), {"countdown": "c", "state": "expired"}),
            (("all", 2, "any", 1), {"request": "r", "outcome": "sent"}),
        ]

    def test_positive_atoms_leave_out_what_is_under_not(self):
        assert [next(iter(a)) for a in positive_atoms(self.CONDITION)] == [
            "inject", "countdown", "request",
        ]  # fmt: skip

    def test_referenced_ids(self):
        found = referenced_ids(self.CONDITION)
        assert found["inject"] == {"a"} and found["decision"] == {"d"}
        assert found["countdown"] == {"c"} and found["request"] == {"r"}
        measure = {"any": [{"message": {"from": "police", "to": "parquet"}}, {"action": "x"}]}
        assert referenced_ids(measure)["role"] == {"police", "parquet"}


def timeline(*occurrences: tuple) -> Timeline:
    return Timeline(Occurrence(*o) for o in occurrences)


LOG = timeline(
    (1 * MIN, "inject", "statut"),
    (3 * MIN, "decision", "statut", "victime"),
    (4 * MIN, "request", "prolongation", "sent"),
    (6 * MIN, "message", "police", "parquet"),
    (8 * MIN, "action", "interprete"),
    (9 * MIN, "request", "prolongation", "approved"),
    (10 * MIN, "countdown", "gav", "running"),
    (20 * MIN, "action", "auditionner"),
    (30 * MIN, "countdown", "gav", "stopped"),
    (40 * MIN, "countdown", "retenue", "running"),
    (50 * MIN, "countdown", "retenue", "expired"),
)


STATUT = {"decision": "statut", "option": "victime"}
TALK = {"message": {"from": "police", "to": "parquet"}}


def act(ident: str) -> dict:
    return {"action": ident}


def asked(outcome: str) -> dict:
    return {"request": "prolongation", "outcome": outcome}


class TestTimeline:
    def test_facts_at_a_moment(self):
        facts = LOG.facts_at(9 * MIN)
        assert facts.requests == {"prolongation": frozenset({"sent", "approved"})}
        assert facts.countdowns == {}
        assert LOG.facts_at(15 * MIN).countdowns == {"gav": "running"}
        assert LOG.facts_at().countdowns == {"gav": "stopped", "retenue": "expired"}
        assert LOG.condition_holds({"countdown": "gav", "state": "running"}, 29 * MIN)
        assert not LOG.condition_holds({"countdown": "gav", "state": "running"})

    def test_an_ended_countdown_stays_ended(self):
        log = timeline((1, "countdown", "c", "running"), (2, "countdown", "c", "expired"),
                       (3, "countdown", "c", "running"))  # fmt: skip
        assert log.facts_at().countdowns == {"c": "expired"}

    def test_same_instant_keeps_the_order_given(self):
        log = timeline((5, "countdown", "c", "running"), (5, "countdown", "c", "expired"))
        assert log.facts_at(5).countdowns == {"c": "expired"}

    @pytest.mark.parametrize(
        ("measure", "score"),
        [
            (STATUT, MeasureScore(True, 3 * MIN)),
            ({**STATUT, "within_s": 120}, MeasureScore(False, late_ms=3 * MIN)),
            ({"decision": "statut", "option": "auteur"}, MeasureScore(False)),
            ({**act("interprete"), "within_s": 600}, MeasureScore(True, 8 * MIN)),
            (TALK, MeasureScore(True, 6 * MIN)),
            ({"message": {"from": "parquet", "to": "police"}}, MeasureScore(False)),
            ({**asked("approved"), "within_s": 600}, MeasureScore(True, 9 * MIN)),
            (asked("any"), MeasureScore(True, 9 * MIN)),
            (asked("sent"), MeasureScore(True, 4 * MIN)),
            (asked("rejected"), MeasureScore(False)),
            ({"countdown": "gav", "expired": False}, MeasureScore(True, 0)),
            ({"countdown": "retenue", "expired": False}, MeasureScore(False)),
            ({"countdown": "retenue", "expired": True}, MeasureScore(True, 50 * MIN)),
            ({"not": {"decision": "statut", "option": "auteur"}}, MeasureScore(True, 0)),
            ({"all": [act("interprete"), TALK]}, MeasureScore(True, 8 * MIN)),
            ({"any": [act("interprete"), TALK]}, MeasureScore(True, 6 * MIN)),
            ({"before": [act("interprete"), act("auditionner")]}, MeasureScore(True, 8 * MIN)),
            ({"before": [act("auditionner"), act("interprete")]}, MeasureScore(False)),
            ({"before": [act("interprete"), act("jamais")]}, MeasureScore(True, 8 * MIN)),
            ({"before": [act("jamais"), act("interprete")]}, MeasureScore(False)),
        ],
    )
    def test_scores(self, measure, score):
        assert LOG.score(measure) == score

    def test_a_measure_at_a_moment(self):
        measure = {"all": [{"action": "interprete"}, {"not": {"action": "auditionner"}}]}
        assert not LOG.met(measure, 7 * MIN)
        assert LOG.met(measure, 8 * MIN)
        assert not LOG.met(measure, 20 * MIN)
        assert LOG.first_met_ms(measure) == 8 * MIN

    def test_nothing_recorded(self):
        empty = Timeline([])
        assert empty.score({"countdown": "c", "expired": False}) == MeasureScore(True, 0)
        assert empty.score({"action": "a"}) == MeasureScore(False)

    def test_a_condition_is_not_a_measure(self):
        with pytest.raises(ConditionError):
            LOG.met({"inject": "statut"})
        with pytest.raises(ConditionError):
            Occurrence(0, "safety", "stop")


# Positive conditions and measures (no `not`, no `expired: false`) only ever become true.
IDS = st.sampled_from(["a", "b"])
atom = st.one_of(
    st.builds(lambda i: {"inject": i}, IDS),
    st.builds(
        lambda i, o: {"decision": i, "option": o}, IDS, st.sampled_from(["x", "any", "none"])
    ),
    st.builds(lambda i: {"action": i}, IDS),
    st.builds(lambda i, o: {"request": i, "outcome": o}, IDS,
              st.sampled_from(["approved", "rejected", "none", "any", "sent"])),
)  # fmt: skip
positive = st.recursive(
    atom,
    lambda inner: st.one_of(
        st.builds(lambda c: {"all": c}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: {"any": c}, st.lists(inner, min_size=1, max_size=3)),
    ),
    max_leaves=6,
)
occurrence = st.one_of(
    st.builds(lambda t, i: Occurrence(t, "inject", i), st.integers(0, 100), IDS),
    st.builds(lambda t, i, o: Occurrence(t, "decision", i, o), st.integers(0, 100), IDS,
              st.sampled_from(["x", "y", "", "none"])),
    st.builds(lambda t, i: Occurrence(t, "action", i), st.integers(0, 100), IDS),
    st.builds(lambda t, i, o: Occurrence(t, "request", i, o), st.integers(0, 100), IDS,
              st.sampled_from(["sent", "approved", "rejected", "none"])),
)  # fmt: skip


@settings(max_examples=300, derandomize=True)
@given(condition=positive, occurrences=st.lists(occurrence, max_size=8), a=st.integers(0, 100),
       b=st.integers(0, 100))  # fmt: skip
def test_what_has_happened_stays_happened(condition, occurrences, a, b):
    log = Timeline(occurrences)
    low, high = sorted((a, b))
    if log.condition_holds(condition, low):
        assert log.condition_holds(condition, high)
    # and `not` is its opposite at every moment
    assert log.condition_holds({"not": condition}, low) != log.condition_holds(condition, low)


class TestTheLawFile:
    def test_its_stored_conditions_and_measures_evaluate(self):
        doc = check_scenario(DATA / "law.yaml").doc
        conditions = [condition_json(i.if_) for i in doc.injects if i.if_ is not None]
        conditions += [condition_json(c.starts) for c in doc.countdowns]
        for condition in conditions:
            assert holds(condition, Facts()) in (True, False)
        facts = Facts.of(
            countdowns={"gav-client": "running"},
            requests={"perquisition": ["sent"]},
            answers={"statut": ["victime"]},
        )
        joy = next(i for i in doc.injects if i.id == "joy-se-confie")
        assert holds(condition_json(joy.if_), facts)
        scores = [LOG.score(measure_json(o.measure)) for o in doc.objectives]
        assert all(isinstance(score.met, bool) for score in scores)

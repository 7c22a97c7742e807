"""An inject's `when` flattened into causes, and which occurrences they are."""

from __future__ import annotations

import pytest

from scenarios.conditions import ConditionError, Occurrence
from scenarios.format import check_scenario
from scenarios.format.stored import when_json
from scenarios.triggers import Cause, causes
from tests.scenarios.format_helpers import DATA


def test_a_simple_when_is_one_cause():
    assert causes({"decision": "d", "option": "oui"}) == [Cause("decision", "d", "oui", 0)]
    assert causes({"action": "a", "delay_s": 60}) == [Cause("action", "a", "", 60)]
    assert causes({"countdown": "c", "state": "expired"}) == [Cause("countdown", "c", "expired")]


def test_any_is_flattened_in_order_and_delays_add_up():
    when = {
        "any": [
            {"request": "r", "outcome": "approved", "delay_s": 30},
            {"any": [{"action": "a"}, {"decision": "d", "option": "none"}], "delay_s": 10},
        ],
        "delay_s": 60,
    }
    assert causes(when) == [
        Cause("request", "r", "approved", 90),
        Cause("action", "a", "", 70),
        Cause("decision", "d", "none", 70),
    ]


def test_not_a_when():
    with pytest.raises(ConditionError):
        causes({"inject": "x"})


@pytest.mark.parametrize(
    ("cause", "act"),
    [
        (Cause("decision", "d", "oui"), True),
        (Cause("decision", "d", "any"), True),
        (Cause("decision", "d", "none"), False),  # a missed deadline is no one's act
        (Cause("action", "a"), True),
        (Cause("request", "r", "none"), True),  # unanswered: still its sender's request
        (Cause("countdown", "c", "expired"), False),
    ],
)
def test_which_causes_are_a_roles_act(cause, act):
    assert cause.is_act is act


@pytest.mark.parametrize(
    ("cause", "occurrence", "matches"),
    [
        (Cause("decision", "d", "oui"), Occurrence(0, "decision", "d", "oui"), True),
        (Cause("decision", "d", "oui"), Occurrence(0, "decision", "d", "non"), False),
        (Cause("decision", "d", "any"), Occurrence(0, "decision", "d", ""), True),
        (Cause("decision", "d", "any"), Occurrence(0, "decision", "d", "none"), False),
        (Cause("decision", "d", "none"), Occurrence(0, "decision", "d", "none"), True),
        (Cause("action", "a"), Occurrence(0, "action", "a"), True),
        (Cause("action", "a"), Occurrence(0, "action", "b"), False),
        (Cause("request", "r", "any"), Occurrence(0, "request", "r", "rejected"), True),
        (Cause("request", "r", "any"), Occurrence(0, "request", "r", "sent"), False),
        (Cause("request", "r", "sent"), Occurrence(0, "request", "r", "sent"), True),
        (Cause("countdown", "c", "running"), Occurrence(0, "countdown", "c", "running"), True),
        (Cause("countdown", "c", "expired"), Occurrence(0, "countdown", "c", "stopped"), False),
        (Cause("action", "a"), Occurrence(0, "inject", "a"), False),
    ],
)
def test_matching_occurrences(cause, occurrence, matches):
    assert cause.matches(occurrence) is matches


def test_every_when_of_the_law_file():
    doc = check_scenario(DATA / "law.yaml").doc
    found = {i.id: causes(when_json(i.when)) for i in doc.injects if i.when is not None}
    assert found["alerte"] == [
        Cause("decision", "statut", "garde-a-vue", 60),
        Cause("countdown", "gav-client", "expired", 360),
    ]
    assert found["refus-prolongation"] == [Cause("request", "prolongation-gav", "rejected", 120)]
    assert found["pv-audition"] == [Cause("action", "auditionner")]

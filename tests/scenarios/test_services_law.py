"""The law keys in the library: the rows and normalised JSON an import writes, the
export back from them, versions imported before the law keys, and a fuzz of them."""

from __future__ import annotations

import importlib

import pytest
import yaml
from django.apps import apps
from hypothesis import HealthCheck, event, given, settings

from scenarios import models as m
from scenarios.format import ScenarioInvalid, check_scenario
from scenarios.services import scenario_export, scenario_import
from tests.scenarios.format_helpers import DATA
from tests.scenarios.test_services import mutated_scenario, row_counts

pytestmark = pytest.mark.django_db

T = m.Inject.Trigger


@pytest.fixture
def version():
    return scenario_import(source=DATA / "law.yaml").version


class TestRows:
    def test_version(self, version):
        assert version.safety_stop == m.ScenarioVersion.SafetyStop.ALERT
        assert version.fiction == {
            "starts": "2026-03-15T22:40:00",
            "jumps": [
                {"at_s": 1800, "to": "2026-03-16T09:00:00"},
                {"at_s": 3300, "to": "2026-03-25T14:00:30"},
            ],
        }
        assert version.warnings == []

    def test_story_time_from_the_version(self, version):
        assert version.story.story_at(40 * 60_000).isoformat() == "2026-03-16T09:10:00"
        assert not scenario_import(source=DATA / "minimal.yaml").version.story.has_calendar

    def test_the_default_safety_stop_holds(self):
        plain = scenario_import(source=DATA / "minimal.yaml").version
        assert (plain.safety_stop, plain.fiction) == ("hold", None)

    def test_requests(self, version):
        requests = {r.ident: r for r in version.requests.all()}
        assert list(requests) == ["prolongation-gav", "perquisition"]
        prolongation = requests["prolongation-gav"]
        assert [r.ident for r in prolongation.senders.all()] == ["police"]
        assert prolongation.decider.ident == "parquet"
        assert (prolongation.deadline_s, prolongation.once) == (1200, False)
        assert prolongation.description.startswith("Article 63")
        assert (requests["perquisition"].deadline_s, requests["perquisition"].once) == (None, True)

    def test_countdowns(self, version):
        gav, lawyer = version.countdowns.all()
        assert (gav.ident, gav.limit_s, gav.warn_s) == ("gav-client", 86400, [7200, 1800])
        assert {r.ident for r in gav.roles.all()} == {"police", "parquet"}
        assert gav.starts == {"inject": "msg-permanence-client"}
        assert gav.stops == {"action": "lever-gav"}
        assert gav.extends == [
            {"when": {"request": "prolongation-gav", "outcome": "approved"}, "by_s": 86400}
        ]
        assert lawyer.stops is None and lawyer.extends == [] and lawyer.warn_s == []
        assert lawyer.starts == {
            "all": [{"countdown": "gav-client", "state": "running"}, {"action": "aviser-avocat"}]
        }

    def test_injects(self, version):
        injects = {i.ident: i for i in version.injects.all()}
        first = injects["relance"]  # a first-form `when`: columns as always, and `when`
        assert (first.trigger, first.when_decision.ident, first.when_option) == (
            T.DECISION, "statut", "none",
        )  # fmt: skip
        assert first.when == {"decision": "statut", "option": "none"}
        assert first.condition == {"not": {"action": "aviser-avocat"}}
        on_action = injects["pv-audition"]
        assert (on_action.trigger, on_action.when_action.ident) == (T.ACTION, "auditionner")
        assert (on_action.reply, on_action.repeat, on_action.to_given) == (True, True, False)
        assert on_action.recipients.count() == 0
        delayed = injects["refus-prolongation"]
        assert (delayed.trigger, delayed.when_decision, delayed.when_action) == (T.WHEN, None, None)
        assert delayed.when == {
            "request": "prolongation-gav", "outcome": "rejected", "delay_s": 120,
        }  # fmt: skip
        assert injects["alerte"].when == {
            "any": [
                {"decision": "statut", "option": "garde-a-vue"},
                {"countdown": "gav-client", "state": "expired", "delay_s": 300},
            ],
            "delay_s": 60,
        }
        assert injects["fin-gav"].trigger == T.WHEN and injects["fin-gav"].is_public
        assert injects["msg-permanence-client"].when is None
        assert injects["msg-permanence-client"].causes == []
        assert [(c.kind, c.ident, c.delay_s) for c in injects["alerte"].causes] == [
            ("decision", "statut", 60), ("countdown", "gav-client", 360),
        ]  # fmt: skip
        assert injects["avocat-arrive"].trigger == T.WHEN  # a delay is not the first form

    def test_objectives(self, version):
        objectives = {o.ident: o for o in version.objectives.all()}
        assert (objectives["gav-tenue"].measure, objectives["gav-tenue"].measure_spec) == (
            "countdown", {"countdown": "gav-client", "expired": False},
        )  # fmt: skip
        prolongation = objectives["prolongation"]
        assert (prolongation.measure, prolongation.within_s) == ("request", 2400)
        assert prolongation.measure_spec == {
            "request": "prolongation-gav", "outcome": "approved", "within_s": 2400,
        }  # fmt: skip
        assert objectives["pas-de-gav"].measure == m.Objective.Measure.COMBINED
        assert objectives["pas-de-gav"].measure_decision is None
        assert objectives["protection"].measure_spec["all"][1]["any"][0] == {
            "action": "aviser-avocat", "within_s": 1200,
        }  # fmt: skip

    def test_the_first_measures_keep_their_columns_and_get_a_spec(self):
        version = scenario_import(source=DATA / "full.yaml").version
        protect = version.objectives.get(ident="protect")
        assert (protect.measure, protect.measure_option, protect.within_s) == (
            "decision", "opp", 1800,
        )  # fmt: skip
        assert protect.measure_spec == {"decision": "placement", "option": "opp", "within_s": 1800}
        talk = version.objectives.get(ident="talk")
        assert talk.measure_spec == {"message": {"from": "police", "to": "parquet"}}


class TestVersionsFromBefore:
    """Versions imported before the law keys have no `when` or `measure_spec` JSON."""

    def forget_the_json(self, version):
        m.Inject.objects.filter(version=version).update(when=None)
        m.Objective.objects.filter(version=version).update(measure_spec=None)

    def test_they_export_from_their_columns(self):
        version = scenario_import(source=DATA / "full.yaml").version
        before = scenario_export(version=version).yaml
        self.forget_the_json(version)
        assert scenario_export(version=version).yaml == before

    def test_the_migration_gives_them_the_json(self):
        version = scenario_import(source=DATA / "full.yaml").version
        expected = {
            "injects": dict(version.injects.values_list("ident", "when")),
            "objectives": dict(version.objectives.values_list("ident", "measure_spec")),
        }
        self.forget_the_json(version)
        migration = importlib.import_module("scenarios.migrations.0002_law_keys")
        migration.normalise_existing_rows(apps, None)
        assert dict(version.injects.values_list("ident", "when")) == expected["injects"]
        assert (
            dict(version.objectives.values_list("ident", "measure_spec"))
            == (expected["objectives"])
        )


class TestExport:
    def test_round_trip(self, version):
        exported = scenario_export(version=version)
        assert exported.yaml == check_scenario(DATA / "law.yaml").exported.yaml
        assert scenario_import(source=("again.yaml", exported.yaml.encode())).unchanged


LAW_SEED = yaml.safe_load((DATA / "law.yaml").read_text())


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=mutated_scenario(LAW_SEED))
def test_no_mutation_of_the_law_keys_breaks_an_import(data):
    """Any mutation of the law file ends as an import or as ScenarioInvalid, and a
    refused one changes no row."""
    before = row_counts()
    try:
        result = scenario_import(source=("law.yaml", data))
    except ScenarioInvalid as invalid:
        event("refused: " + ", ".join(sorted({d.code for d in invalid.errors})))
        assert invalid.errors
        assert row_counts() == before
        return
    event("imported")
    exported = scenario_export(version=result.version)
    assert exported.content_hash == result.version.content_hash

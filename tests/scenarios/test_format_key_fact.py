"""`key_fact: true` on an inject: schema, loader, model field and export round trip."""

from __future__ import annotations

import pytest

from scenarios.format import check_scenario
from scenarios.models import Inject
from scenarios.services import scenario_export, scenario_import
from tests.scenarios.format_helpers import BASE, diagnose

FLAGGED = BASE.replace(
    "    title: Joy parle\n    at: 1m\n", "    title: Joy parle\n    at: 1m\n    key_fact: true\n"
)


def test_the_canonical_text_keeps_key_fact_and_drops_its_default():
    text = check_scenario(("t.yaml", FLAGGED.encode())).exported.yaml
    assert text.count("key_fact: true") == 1
    assert "key_fact" not in check_scenario(("t.yaml", BASE.encode())).exported.yaml


def test_a_non_boolean_key_fact_is_an_error():
    found = diagnose(FLAGGED.replace("key_fact: true", "key_fact: beaucoup"))
    assert any(d.severity == "error" and "key_fact" in d.message for d in found), found


@pytest.mark.django_db
def test_import_sets_the_model_field_and_export_writes_it_back():
    version = scenario_import(source=("t.yaml", FLAGGED.encode())).version
    assert set(
        Inject.objects.filter(version=version, key_fact=True).values_list("ident", flat=True)
    ) == {"cue1"}
    exported = scenario_export(version=version)
    assert "key_fact: true" in exported.yaml
    again = scenario_import(source=("again.zip", exported.to_zip()))
    assert again.unchanged

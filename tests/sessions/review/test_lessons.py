"""Lessons learned: findings become items of the scenario; its page compares sessions."""

from __future__ import annotations

from django.urls import reverse

from sessions import engine
from sessions.models import ImprovementItem
from tests.sessions.review_helpers import add_objective


def test_a_finding_becomes_an_item_and_the_scenario_page_lists_sessions_side_by_side(
    trainer_client, session, boss, seated, trainer, live_version, wall
):
    add_objective(
        live_version,
        ident="interp",
        title="Interprète",
        measure="action",
        measure_action=live_version.actions.get(ident="interprete"),
    )
    other = engine.session_create(version=live_version, trainer=trainer, title="Deuxième")
    engine.session_start(session_id=session.pk, principal=boss)
    engine.action_take(session_id=session.pk, principal=seated["police"], action_ident="interprete")
    engine.objective_rate(session_id=session.pk, principal=boss, objective_ident="interp", level=3)
    answer = trainer_client.post(
        reverse("sessions:improvement_add", args=[session.pk]),
        {
            "what": "Prévoir l’interprète plus tôt",
            "concerns": "police",
            "owner": "Formatrice",
            "due": "2027-01-15",
        },
    )
    assert answer.status_code == 302
    item = ImprovementItem.objects.get()
    assert (item.scenario, item.session, item.status) == (live_version.scenario, session, "open")
    report = trainer_client.get(reverse("sessions:report", args=[session.pk])).content.decode()
    assert "Prévoir l’interprète plus tôt" in report
    page = trainer_client.get(reverse("sessions:lessons", args=[live_version.scenario.slug]))
    html = page.content.decode()
    assert page.status_code == 200 and "Prévoir l’interprète plus tôt" in html
    assert f'data-session="{session.pk}"' in html and f'data-session="{other.pk}"' in html
    assert 'data-status="met"' in html and ("3.0/4" in html or "3,0/4" in html)
    trainer_client.post(reverse("sessions:improvement_status", args=[item.pk]), {"status": "done"})
    item.refresh_from_db()
    assert item.status == "done"
    bad = trainer_client.post(
        reverse("sessions:improvement_status", args=[item.pk]), {"status": "nope"}
    )
    item.refresh_from_db()
    assert bad.status_code == 302 and item.status == "done"


def test_an_empty_finding_is_refused(trainer_client, session):
    trainer_client.post(reverse("sessions:improvement_add", args=[session.pk]), {"what": ""})
    assert not ImprovementItem.objects.exists()

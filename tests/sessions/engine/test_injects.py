"""Injects: `after` chains, skips, manual and ad-hoc injects, lateness."""

from __future__ import annotations

import pytest

from sessions import engine
from sessions.models import Event, Session
from tests.sessions.engine.helpers import fired, start, tick


def test_after_trigger_counts_from_the_parent_firing(session, boss, wall):
    start(session, boss)
    wall.advance(60)
    tick(session)
    wall.advance(29)
    tick(session)
    assert "followup" not in fired(session)
    wall.advance(1)
    tick(session)
    assert fired(session)["followup"].clock_ms == 90_000


def test_skipped_parent_holds_its_followers(session, boss, wall):
    start(session, boss)
    engine.inject_skip(session_id=session.pk, principal=boss, inject_ident="call")
    wall.advance(500)
    tick(session)
    assert fired(session)["call"].outcome == "skipped"
    assert "followup" not in fired(session)


def test_manual_inject_waits_for_the_trainer(session, boss, wall):
    start(session, boss)
    wall.advance(5000)
    tick(session)
    assert "manual" not in fired(session)
    event = engine.inject_fire(session_id=session.pk, principal=boss, inject_ident="manual")
    assert event.audience == ["role:police"]
    with pytest.raises(engine.EngineError) as err:
        engine.inject_fire(session_id=session.pk, principal=boss, inject_ident="manual")
    assert err.value.code == "already-fired"


def test_adhoc_inject_speaks_as_a_persona(session, boss, seated):
    start(session, boss)
    event = engine.inject_adhoc(
        session_id=session.pk, principal=boss, roles=["police"], title="Appel",
        body="Je suis sa mère", kind="call", sender="Mère de Joy",
    )
    assert event.audience == ["role:police"]
    assert event.payload["from"] == "Mère de Joy"
    assert event.payload["inject"].startswith("adhoc-")


def test_adhoc_recipients_are_checked_in_one_query_and_an_unknown_one_changes_nothing(
    session, boss, seated, django_assert_max_num_queries
):
    start(session, boss)
    event = engine.inject_adhoc(session_id=session.pk, principal=boss,
                                roles=["parquet", "police", "police"], title="À deux")
    assert event.audience == ["role:parquet", "role:police"]
    last_seq = Session.objects.get(pk=session.pk).last_seq
    with pytest.raises(engine.EngineError) as err:
        engine.inject_adhoc(session_id=session.pk, principal=boss,
                            roles=["police", "douane"], title="Perdu")
    assert err.value.code == "unknown-role" and "douane" in err.value.message
    assert Session.objects.get(pk=session.pk).last_seq == last_seq
    with django_assert_max_num_queries(12) as one:
        engine.inject_adhoc(session_id=session.pk, principal=boss, roles=["police"],
                            title="À un")
    with django_assert_max_num_queries(len(one.captured_queries)):  # not one more per role
        engine.inject_adhoc(session_id=session.pk, principal=boss,
                            roles=["police", "parquet", "joy", "obs"], title="À tous")


def test_late_injects_after_downtime_fire_once_marked_late(session, boss, wall):
    start(session, boss)
    wall.advance(3600)  # the server was down for an hour
    tick(session)
    tick(session)
    f = fired(session)
    assert f["call"].late and f["dec"].late
    assert f["call"].clock_ms == 3_600_000
    assert Event.objects.filter(session=session, kind="inject.fired").count() == len(
        [x for x in f.values() if x.outcome == "fired"]
    )


def test_on_time_injects_are_not_late(session, boss, wall):
    start(session, boss)
    wall.advance(60.5)
    tick(session)
    assert fired(session)["call"].late is False

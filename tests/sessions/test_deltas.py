"""Threads and notes: one new message is one small frame, and the cap holds after N.

A live screen applies each frame as htmx does (`review_helpers.Screen`); after every
append its threads and notes must equal a fresh render of the same moment (what the
replay shows), and a (re)connect's catch-up must rebuild the same lists.
"""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from sessions import engine
from sessions import projections as P
from sessions.audience import Perspective
from sessions.models import Event, Seat
from sessions.projections import apply, new_state, project_session
from sessions.render import batch_frames, frame, render_region
from tests.sessions.review_helpers import Screen, canonical

pytestmark = pytest.mark.django_db

CAP = 3
ENTRY = re.compile(r'<li id="(?:message|note)-(\d+)" data-seq')
LISTS = (P.THREADS, P.NOTES)


@pytest.fixture(autouse=True)
def small_cap(monkeypatch):
    monkeypatch.setattr(P, "SHOWN", CAP)


@pytest.fixture
def started(session, boss, wall):
    engine.session_start(session_id=session.pk, principal=boss)
    return session


def views(session, seated) -> dict[str, tuple[Perspective, str]]:
    police = Seat.objects.select_related("role").get(pk=seated["police"].seat_id)
    return {
        "trainer": (Perspective.trainer(), "control"),
        "police": (Perspective.for_seat(police), "desk"),
    }


def fresh(session, perspective, seq) -> dict[str, str]:
    state = project_session(session, perspective, upto_seq=seq)
    return {name: canonical(render_region(state, name)) for name in LISTS}


def follow(session, perspective, screen_name, upto):
    """A screen opened at `upto`, then each later event's frame applied in turn."""
    state = project_session(session, perspective, upto_seq=upto)
    screen = Screen({name: render_region(state, name) for name in LISTS})
    frames = []
    for event in Event.objects.filter(session=session, seq__gt=upto).order_by("seq"):
        if not perspective.sees_event(event):
            state.last_seq = event.seq
            continue
        changed = apply(state, event) & set(LISTS)
        text = frame(event, state, changed, screen_name)
        screen.apply(text)
        frames.append((event, changed, text))
        assert screen.regions() == fresh(session, perspective, event.seq), event
    return screen, frames


def last_seq(session) -> int:
    return Event.objects.filter(session=session).order_by("-seq").first().seq


def chat(session, seated, boss, wall, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        wall.advance(5)
        sender, to = ("police", "parquet") if i % 2 else ("parquet", "police")
        engine.message_send(
            session_id=session.pk, principal=seated[sender], to_role=to, text=f"message {i}"
        )
        engine.note_add(session_id=session.pk, principal=boss, text=f"note {i}")
        engine.note_private(session_id=session.pk, principal=seated["police"], text=f"privée {i}")


def test_each_message_and_note_after_the_first_render_is_one_small_frame(
    started, seated, boss, wall
):
    chat(started, seated, boss, wall, 1)
    upto = last_seq(started)
    chat(started, seated, boss, wall, 3 * CAP, start=1)  # well past the cap
    with translation.override("fr"):
        for name, (perspective, screen_name) in views(started, seated).items():
            _screen, frames = follow(started, perspective, screen_name, upto)
            assert frames, name
            for event, changed, text in frames:
                if changed & set(LISTS):
                    # Only the new entry: no earlier message or note rides along.
                    assert ENTRY.findall(text) == [str(event.seq)], (name, event)
                    assert 'id="region-threads"' not in text and 'id="region-notes"' not in text
            # The cap behaved as a whole render's: CAP shown, the rest behind "show all".
            last = frames[-1][0].seq
            shown = fresh(started, perspective, last)
            assert len(re.findall(r'<li id="note-', shown[P.NOTES])) == CAP
            assert "show-all" in shown[P.THREADS] and "show-all" in shown[P.NOTES]


def test_the_first_message_of_a_thread_sends_the_threads_whole(started, seated, wall):
    with translation.override("fr"):
        perspective, screen_name = views(started, seated)["police"]
        before = last_seq(started)
        engine.message_send(
            session_id=started.pk, principal=seated["police"], to_role="parquet", text="premier"
        )
        _screen, frames = follow(started, perspective, screen_name, before)
        (event, _changed, text) = frames[-1]
        assert 'id="region-threads"' in text  # "no message yet" gives way to the list


def test_a_trainer_thread_that_moves_to_the_top_is_sent_whole(started, seated, boss, wall):
    engine.message_send(
        session_id=started.pk, principal=seated["police"], to_role="parquet", text="fil 1"
    )
    engine.message_send(
        session_id=started.pk, principal=boss, from_role="police", to_role="joy", text="fil 2"
    )
    engine.message_send(
        session_id=started.pk,
        principal=boss,
        from_role="police",
        to_role="joy",
        text="fil 2 encore",
    )  # still on top: a delta
    engine.message_send(
        session_id=started.pk, principal=seated["parquet"], to_role="police", text="fil 1 remonte"
    )  # reorders: whole
    with translation.override("fr"):
        _screen, frames = follow(started, Perspective.trainer(), "control", last_seq(started) - 2)
    (_e1, _c1, again), (_e2, _c2, moved) = frames
    assert 'id="region-threads"' not in again and 'id="region-threads"' in moved


def test_a_reconnect_rebuilds_the_same_lists(started, seated, boss, wall):
    chat(started, seated, boss, wall, 2 * CAP + 1)
    last = last_seq(started)
    with translation.override("fr"):
        for perspective, screen_name in views(started, seated).values():
            live, _frames = follow(started, perspective, screen_name, 0)
            for after in (0, last // 2, last - 4):  # a (re)connect resumes from its cursor
                state = project_session(started, perspective, upto_seq=after)
                screen = Screen({name: render_region(state, name) for name in LISTS})
                events = Event.objects.filter(session=started, seq__gt=after).order_by("seq")
                folded = [
                    (e, apply(state, e) & set(LISTS)) for e in events if perspective.sees_event(e)
                ]
                for text in batch_frames(folded, state, screen_name, language="fr"):
                    screen.apply(text)
                assert screen.regions() == live.regions() == fresh(started, perspective, last)


def test_a_new_page_starts_from_the_whole_list(started, seated, boss, wall):
    chat(started, seated, boss, wall, CAP + 2)
    perspective = Perspective.trainer()
    state = new_state(perspective, started.version_id, started.pk)
    for event in Event.objects.filter(session=started).order_by("seq"):
        apply(state, event)
    with translation.override("fr"):
        page = render_region(state, P.NOTES)
    assert len(ENTRY.findall(page)) == CAP and "show-all" in page

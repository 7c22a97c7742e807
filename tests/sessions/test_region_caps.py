"""Long lists are capped: a thread shows its last `SHOWN` messages, the notes their last
`SHOWN`, with "N earlier — show all" loading the rest through `sessions:region_all`.

The cap is what keeps a replay seek of a course day under 100 ms (bench/replay_bench.py);
the endpoint answers with the list of the same perspective as it stood at the newest
shown entry, live or replayed, under the permission checks of those screens.
"""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from sessions import engine, replay
from sessions import projections as P
from sessions.access import pass_cookie_name, sign_pass
from sessions.audience import Perspective
from sessions.models import Event, Seat
from sessions.projections import apply, project_session
from sessions.render import frame, render_region
from tests.factories import UserFactory
from tests.sessions.conftest import seat_client
from tests.sessions.review_helpers import (  # noqa: F401 - fresh_caches is a fixture
    Screen,
    canonical,
    fresh_caches,
    normalise,
)

pytestmark = pytest.mark.django_db

CAP = 3
ENTRY = re.compile(r'<li id="(?:message|note)-(\d+)" data-seq')
LINK = re.compile(r'<a class="show-all__link" href="([^"]*)" hx-get="([^"]*)"')


@pytest.fixture(autouse=True)
def small_cap(monkeypatch):
    monkeypatch.setattr(P, "SHOWN", CAP)


@pytest.fixture
def started(session, boss, wall):
    engine.session_start(session_id=session.pk, principal=boss)
    return session


@pytest.fixture
def chatty(started, boss, seated, wall):
    """police ↔ parquet: 5 messages; the trainer: 5 notes; police: 4 private notes."""
    for i in range(5):
        wall.advance(10)
        engine.message_send(session_id=started.pk, principal=seated["police"],
                            to_role="parquet", text=f"message {i}")
        engine.note_add(session_id=started.pk, principal=boss, text=f"note {i}")
        if i < 4:
            engine.note_private(session_id=started.pk, principal=seated["police"],
                                text=f"privée {i}")
    engine.message_send(session_id=started.pk, principal=seated["parquet"],
                        to_role="police", text="reçu")  # 6 in the thread now
    started.refresh_from_db()
    return started


def seat_of(session, role: str) -> Seat:
    return Seat.objects.select_related("role").get(session=session, role__ident=role,
                                                   number=1)


def region(session, perspective: Perspective, name: str) -> str:
    with translation.override("fr"):
        return render_region(project_session(session, perspective), name)


def links(html_text: str) -> list[str]:
    found = []
    for href, hx_get in LINK.findall(html_text):
        assert href == hx_get  # a real link too: focusable, opens with Enter
        found.append(html.unescape(hx_get))
    return found


def texts(html_text: str, prefix: str) -> list[str]:
    return re.findall(rf"{prefix} \d", html_text)


# --- The cap ----------------------------------------------------------------------------------


def test_a_long_thread_shows_its_last_messages_and_how_many_are_hidden(chatty, seated):
    trainer = region(chatty, Perspective.trainer(), P.THREADS)
    assert texts(trainer, "message") == ["message 3", "message 4"]  # + "reçu": 3 shown
    assert "reçu" in trainer
    assert "3 messages plus anciens — tout afficher" in trainer
    assert '<span class="count">6</span>' in trainer  # the count is of the whole thread
    police = region(chatty, Perspective.for_seat(seat_of(chatty, "police")), P.THREADS)
    assert texts(police, "message") == ["message 3", "message 4"]
    assert "3 messages plus anciens — tout afficher" in police
    # The link names the thread and the newest message shown; the trainer's says "as".
    last = Event.objects.filter(session=chatty, kind="message.sent").order_by("seq").last()
    url = reverse("sessions:region_all", args=[chatty.pk, "threads"])
    assert links(trainer) == [f"{url}?thread=parquet%7Cpolice&upto={last.seq}&as=trainer"]
    assert links(police) == [f"{url}?thread=parquet%7Cpolice&upto={last.seq}"]


def test_a_short_list_has_no_show_all(started, boss, seated):
    engine.message_send(session_id=started.pk, principal=seated["police"], to_role="parquet",
                        text="seul")
    engine.note_add(session_id=started.pk, principal=boss, text="une note")
    for name in (P.THREADS, P.NOTES):
        assert "show-all" not in region(started, Perspective.trainer(), name)


def test_the_notes_show_the_newest_and_how_many_are_hidden(chatty):
    trainer = region(chatty, Perspective.trainer(), P.NOTES)
    # The trainer sees their notes and the private ones: 9, newest first, 3 shown.
    assert re.findall(r"(?:note|privée) \d", trainer) == ["note 4", "privée 3", "note 3"]
    assert "6 notes plus anciennes — tout afficher" in trainer
    police = region(chatty, Perspective.for_seat(seat_of(chatty, "police")), P.NOTES)
    assert texts(police, "privée") == ["privée 3", "privée 2", "privée 1"]
    assert "1 note plus ancienne — tout afficher" in police
    assert "note 4" not in police


def test_the_projection_keeps_every_entry(chatty):
    state = project_session(chatty, Perspective.trainer())
    assert len(state.threads["parquet|police"]) == 6 and len(state.notes) == 9
    shown = state.notes_shown()
    assert (shown.total, shown.hidden, len(shown.entries)) == (9, 6, CAP)
    assert state.notes_shown(capped=False).hidden == 0


# --- Show all ------------------------------------------------------------------------------


def test_show_all_gives_the_trainer_the_whole_thread_and_notes(chatty, trainer_client):
    for name, prefix, count in ((P.THREADS, "message", 5), (P.NOTES, "note", 5)):
        url = links(region(chatty, Perspective.trainer(), name))[0]
        response = trainer_client.get(url, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        body = response.content.decode()
        assert len(texts(body, prefix)) == count
        assert "show-all" not in body and "autofocus" in body  # focus lands on the list
        assert response["Cache-Control"] == "private, no-store"
        # Reloaded after a push (live.js): the same list, the focus left alone.
        again = trainer_client.get(url + "&refresh=1", HTTP_HX_REQUEST="true").content.decode()
        assert len(texts(again, prefix)) == count
        assert "data-full" in again and "autofocus" not in again


def test_show_all_gives_a_seat_its_own_lists(chatty, seated):
    police = seat_client(chatty, seated["police"])
    perspective = Perspective.for_seat(seat_of(chatty, "police"))
    thread_url = links(region(chatty, perspective, P.THREADS))[0]
    body = police.get(thread_url).content.decode()
    assert texts(body, "message") == [f"message {i}" for i in range(5)]
    notes_url = links(region(chatty, perspective, P.NOTES))[0]
    body = police.get(notes_url).content.decode()
    assert texts(body, "privée") == ["privée 3", "privée 2", "privée 1", "privée 0"]
    assert "note 0" not in body  # the trainer's notes are not the seat's
    # The other end of the thread may read it too.
    assert seat_client(chatty, seated["parquet"]).get(thread_url).status_code == 200


def test_show_all_is_refused_to_whoever_the_screens_refuse(chatty, seated, groups, wall):
    url = links(region(chatty, Perspective.for_seat(seat_of(chatty, "police")),
                       P.THREADS))[0]
    notes = reverse("sessions:region_all", args=[chatty.pk, "notes"])
    assert Client().get(url).status_code == 403  # anonymous
    stranger = UserFactory(username="autre")
    stranger.groups.add(groups["trainer"])
    other = Client()
    other.force_login(stranger)
    assert other.get(url).status_code == 403  # another trainer
    assert other.get(url + "&as=trainer").status_code == 403
    # A seat asking as the trainer, or as another seat, is refused: that is the replay's.
    police = seat_client(chatty, seated["police"])
    assert police.get(url + "&as=trainer").status_code == 403
    assert police.get(f"{notes}?as=seat:{seat_of(chatty, 'parquet').pk}").status_code == 403
    # The actor's tablet has no threads and no notes; the observer's no notes, and only
    # its own threads; a thread the seat is not in is not found.
    joy = seat_client(chatty, seated["joy"])
    assert joy.get(url).status_code == 404 and joy.get(notes).status_code == 404
    obs = seat_client(chatty, seated["obs"])
    assert obs.get(url).status_code == 404 and obs.get(notes).status_code == 404
    # A freed seat's pass no longer opens anything.
    boss = engine.TrainerPrincipal(user_id=chatty.trainer_id)
    engine.seat_free(session_id=chatty.pk, principal=boss, seat_id=seated["parquet"].seat_id)
    assert seat_client(chatty, seated["parquet"]).get(url).status_code == 403
    # Unknown regions and threads.
    police_notes = police.get(reverse("sessions:region_all", args=[chatty.pk, "inbox"]))
    assert police_notes.status_code == 404
    assert police.get(url.replace("parquet%7Cpolice", "joy%7Cpolice")).status_code == 404


def test_a_session_id_of_another_session_is_refused(chatty, seated, trainer, groups, wall,
                                                    live_version):
    stranger = UserFactory(username="autre")
    stranger.groups.add(groups["trainer"])
    elsewhere = engine.session_create(version=live_version, trainer=stranger, title="Autre")
    url = reverse("sessions:region_all", args=[elsewhere.pk, "notes"])
    client = Client()
    client.force_login(trainer)
    assert client.get(url).status_code == 403
    assert client.get(url + "?as=trainer").status_code == 403
    # Our seat's pass is for our session only (and the seat id is not one of its seats).
    police = seat_client(chatty, seated["police"])
    police.cookies[pass_cookie_name(elsewhere.pk)] = sign_pass(elsewhere.pk,
                                                               seated["police"].pass_key)
    assert police.get(url).status_code == 403
    own = Client()
    own.force_login(stranger)
    assert own.get(url + f"?as=seat:{seated['police'].seat_id}").status_code == 404


# --- Replay ------------------------------------------------------------------------------------


def test_replay_show_all_returns_the_list_as_of_the_replayed_moment(
    chatty, seated, boss, trainer_client
):
    moment = chatty.last_seq
    for i in range(5, 8):  # later messages and notes: not in the replay at `moment`
        engine.message_send(session_id=chatty.pk, principal=seated["police"],
                            to_role="parquet", text=f"message {i}")
        engine.note_add(session_id=chatty.pk, principal=boss, text=f"note {i}")
        engine.note_private(session_id=chatty.pk, principal=seated["police"],
                            text=f"privée {i}")
    chatty.refresh_from_db()
    for token in ("trainer", f"seat:{seated['police'].seat_id}"):
        view = replay.viewpoint(chatty, token)
        with translation.override("fr"):
            shown = replay.frame_at(chatty, view, seq=moment)
        # The replayed regions link to the list as of that moment: the replay page adds
        # its perspective (hx-vals on .replay-frame) as `as`.
        thread_url = links(shown.regions[P.THREADS])[0]
        body = trainer_client.get(f"{thread_url}&as={token}").content.decode()
        assert texts(body, "message") == [f"message {i}" for i in range(5)], token
        notes_url = links(shown.regions[P.NOTES])[0]
        body = trainer_client.get(f"{notes_url}&as={token}").content.decode()
        if token == "trainer":
            assert texts(body, "note") == [f"note {i}" for i in range(4, -1, -1)]
        else:
            assert texts(body, "privée") == [f"privée {i}" for i in range(3, -1, -1)]
            assert "note 0" not in body
    page = trainer_client.get(reverse("sessions:replay", args=[chatty.pk]),
                              {"as": f"seat:{seated['police'].seat_id}", "seq": moment})
    assert f'hx-vals=\'{{"as": "seat:{seated["police"].seat_id}"}}\'' in page.content.decode()
    # An unknown perspective is not found, as on the replay.
    url = reverse("sessions:region_all", args=[chatty.pk, "notes"])
    assert trainer_client.get(url, {"as": "seat:999999"}).status_code == 404


def test_capped_regions_replay_exactly_as_they_were_shown_live(chatty, seated):
    """Same partials, same caps: the replay at the last seq equals a fresh live render."""
    for token in ("trainer", f"seat:{seated['police'].seat_id}"):
        view = replay.viewpoint(chatty, token)
        with translation.override("fr"):
            replayed = replay.frame_at(chatty, view, seq=chatty.last_seq).regions
            live = project_session(chatty, view.perspective)
            for name in (P.THREADS, P.NOTES):
                assert normalise(replayed[name]) == normalise(render_region(live, name))
                assert "show-all" in replayed[name]


def test_a_pushed_capped_region_equals_the_region_rendered_fresh(chatty, seated, boss):
    """The pushed delta, applied as htmx applies it, leaves the capped list a fresh render
    shows (sessions.render.thread_delta / note_delta trim it server-side)."""
    engine.message_send(session_id=chatty.pk, principal=seated["parquet"], to_role="police",
                        text="encore")
    engine.note_add(session_id=chatty.pk, principal=boss, text="dernière")
    events = list(Event.objects.filter(session=chatty).order_by("seq"))
    perspective = Perspective.trainer()
    for event in events[-2:]:
        live = project_session(chatty, perspective, upto_seq=event.seq - 1)
        with translation.override("fr"):
            screen = Screen({name: render_region(live, name) for name in (P.THREADS, P.NOTES)})
            changed = apply(live, event)
            pushed = frame(event, live, changed, "control")
            screen.apply(pushed)
            fresh = project_session(chatty, perspective, upto_seq=event.seq)
            for name in changed & {P.THREADS, P.NOTES}:
                assert screen.html(name) == canonical(render_region(fresh, name))
            # A delta: the one new entry, none of the earlier ones.
            assert ENTRY.findall(pushed) == [str(event.seq)]

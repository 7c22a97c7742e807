"""Replay: a replay at T equals the live screen at T (the Zulip way), and the replay's
own mechanics — the T → seq bound, snapshots, region versions, markers, the pages."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.urls import reverse
from django.utils import translation

from sessions import engine, replay
from sessions.audience import Perspective
from sessions.models import Event, ReplaySnapshot, Seat, Session
from sessions.projections import new_state
from sessions.render import SCREENS, render_region, screen_for
from tests.sessions.review_helpers import (  # noqa: F401 - fresh_caches is a fixture
    Screen,
    add_objective,
    canonical,
    fresh_caches,
    normalise,
    play_script,
    regions_in,
)
from tests.sessions.test_consumers import connect, drain, pass_cookie, trainer_cookie


def fresh_regions(session, view: replay.Viewpoint, **where) -> dict[str, str]:
    with translation.override("fr"):
        frame = replay.frame_at(session, view, **where)
    return {name: canonical(html) for name, html in frame.regions.items()}


# --- Replay at T equals the live screen at T -----------------------------------------------------


class LiveScreen:
    """What one connected browser shows: its first page's regions, changed by every
    frame it received the way htmx applies them."""

    def __init__(self, comm, view: replay.Viewpoint, initial: dict[str, str]):
        self.comm, self.view = comm, view
        self.screen = Screen(initial)
        self.clock: dict[str, str] = {}

    @property
    def regions(self) -> dict[str, str]:
        return self.screen.regions()

    def absorb(self, frames: list[str]) -> None:
        for text in frames:
            if not text.startswith("<!--seq:"):
                continue
            self.screen.apply(text)
            clock = re.search(r'<div id="clock"[^>]*data-state="([^"]*)" data-speed="([^"]*)"'
                              r'\s+data-anchor-clock-ms="([^"]*)"', text)
            if clock:
                self.clock = {"state": clock[1], "speed": clock[2], "anchor": clock[3]}


def _initial(session, view: replay.Viewpoint) -> dict[str, str]:
    """The regions of a page rendered before any event this screen may see (seq 0)."""
    state = new_state(view.perspective, session.version_id, session.pk)
    with translation.override("fr"):
        return {name: render_region(state, name) for name in SCREENS[view.screen]
                if name != "clock"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_replay_at_every_moment_equals_what_live_screens_showed(
    session, boss, wall, trainer, live_version
):
    await database_sync_to_async(add_objective)(live_version, "obj", "Repérer la minorité")
    from tests.sessions.review_helpers import seat_everyone

    seated = await database_sync_to_async(seat_everyone)(session)
    screens: dict[str, LiveScreen] = {}
    cookie = await database_sync_to_async(trainer_cookie)(trainer)
    comm, _, _ = await connect(session.pk, cookie)
    view = await database_sync_to_async(replay.viewpoint)(session, "trainer")
    screens["trainer"] = LiveScreen(comm, view, await database_sync_to_async(_initial)(
        session, view))
    for role, principal in seated.items():
        comm, _, _ = await connect(session.pk, pass_cookie(session.pk, principal.pass_key))
        view = await database_sync_to_async(replay.viewpoint)(session,
                                                              f"seat:{principal.seat_id}")
        screens[role] = LiveScreen(comm, view,
                                   await database_sync_to_async(_initial)(session, view))
    moments = []  # (seq, clock ms, {screen: regions})

    async def record():
        frames = await asyncio.gather(*(drain(s.comm, quiet=0.3) for s in screens.values()))
        for screen, got in zip(screens.values(), frames, strict=True):
            screen.absorb(got)
        fresh = await database_sync_to_async(Session.objects.get)(pk=session.pk)
        moments.append((fresh.last_seq, fresh.clock_ms(wall()),
                        {k: dict(s.regions) for k, s in screens.items()},
                        {k: dict(s.clock) for k, s in screens.items()}))

    # The script calls moment() from a worker thread: hand the recording to the loop.
    loop = asyncio.get_running_loop()

    def moment():
        asyncio.run_coroutine_threadsafe(record(), loop).result()

    await sync_to_async(play_script, thread_sensitive=False)(
        session, boss, seated, wall, moment=moment)
    for screen in screens.values():
        await screen.comm.disconnect()

    compared_by_time = 0
    session = await database_sync_to_async(Session.objects.get)(pk=session.pk)
    assert len(moments) == 6
    # The live side really moved: what the last moment shows came through the socket.
    last = moments[-1][2]
    assert "Pendant la pause." in last["police"]["threads"]
    assert "Bonne réaction de la police." in last["trainer"]["notes"]
    assert "I am 19" in last["joy"]["cues"] and "I am 19" not in str(last["police"])
    assert 'data-answer="gav"' in last["obs"]["board"]
    assert last["trainer"] != moments[1][2]["trainer"]
    for seq, t_ms, shown, clocks in moments:
        later_same_time = await database_sync_to_async(
            Event.objects.filter(session=session, seq__gt=seq, clock_ms__lte=t_ms).exists)()
        for name, screen in screens.items():
            live = shown[name]
            by_seq = await database_sync_to_async(fresh_regions)(session, screen.view, seq=seq)
            assert by_seq == live, (name, seq, _diff(by_seq, live))
            if not later_same_time:  # T names exactly this moment
                by_time = await database_sync_to_async(fresh_regions)(
                    session, screen.view, t_ms=t_ms)
                assert by_time == live, (name, t_ms, _diff(by_time, live))
                compared_by_time += 1
            state = await database_sync_to_async(replay.state_at)(
                session, screen.view.perspective, seq)
            if clocks[name]:
                assert clocks[name]["state"] == state.clock["state"], (name, seq)
                assert int(clocks[name]["anchor"]) == state.clock["anchor_clock_ms"]
    assert compared_by_time >= 4 * len(screens)  # only the paused moment is seq-only


def _diff(replayed: dict, live: dict) -> list:
    return [(k, replayed.get(k, "")[:300], live.get(k, "")[:300])
            for k in sorted(set(replayed) | set(live)) if replayed.get(k) != live.get(k)]


# --- The moment T and the seq bound --------------------------------------------------------------


@pytest.fixture
def played(session, boss, wall, live_version):
    add_objective(live_version, "obj", "Repérer la minorité")
    from tests.sessions.review_helpers import seat_everyone

    seated = seat_everyone(session)
    play_script(session, boss, seated, wall)
    session.refresh_from_db()
    return session


def test_t_means_the_events_stamped_at_or_before_t(played):
    events = list(Event.objects.filter(session=played).order_by("seq"))
    for event in events[::3]:
        bound = replay.seq_at(played, event.clock_ms)
        assert all(e.clock_ms <= event.clock_ms for e in events if e.seq <= bound)
        assert bound == played.last_seq or events[bound].clock_ms > event.clock_ms
    assert replay.seq_at(played, -1) == 0
    assert replay.seq_at(played, 10**12) == played.last_seq


def test_t_bound_is_a_prefix_even_if_a_clock_ever_went_back(played):
    # An event stamped earlier than its predecessor (a wall clock stepped back) ends the
    # prefix: the replay never shows a state that no live screen held.
    late = Event.objects.filter(session=played).order_by("seq")[10]
    Event.objects.filter(pk=late.pk).update(clock_ms=10**9)
    assert replay.seq_at(played, 10**9 - 1) == late.seq - 1


def test_state_from_snapshots_equals_a_fold_from_scratch(played, monkeypatch):
    from sessions.projections import project

    monkeypatch.setattr(replay, "SNAPSHOT_EVERY", 7)
    trainer = Perspective.trainer()
    police = Perspective.for_seat(Seat.objects.get(session=played, role__ident="police"))
    for perspective in (trainer, police):
        for seq in (5, 14, 20, played.last_seq, 9, 3):
            got = replay.state_at(played, perspective, seq)
            expected = project(Event.objects.filter(session=played, seq__lte=seq)
                               .order_by("seq"), perspective, played.version_id, played.pk)
            for name in SCREENS[screen_for(perspective, "trainee")]:
                if name == "clock":
                    assert got.clock == expected.clock
                    continue
                assert render_region(got, name) == render_region(expected, name), (seq, name)
    saved = set(ReplaySnapshot.objects.filter(session=played, perspective=trainer.key)
                .values_list("seq", flat=True))
    assert saved and all(seq % 7 == 0 for seq in saved)


def test_snapshots_of_another_format_are_ignored(played, monkeypatch):
    monkeypatch.setattr(replay, "SNAPSHOT_EVERY", 5)
    trainer = Perspective.trainer()
    replay.state_at(played, trainer, played.last_seq)
    ReplaySnapshot.objects.filter(session=played).update(state=b"not a pickle")
    monkeypatch.setattr(replay, "SNAPSHOT_FORMAT", "another-shape")
    state = replay.state_at(played, trainer, played.last_seq)
    assert state.last_seq == played.last_seq


def test_only_regions_the_browser_lacks_are_rendered(played):
    view = replay.viewpoint(played, "trainer")
    full = replay.frame_at(played, view, seq=played.last_seq - 3)
    have = dict(full.versions)
    have = {name: full.versions.get(name, 0) for name in SCREENS[view.screen]}
    later = replay.frame_at(played, view, seq=played.last_seq, have=have)
    assert later.partial
    changed = {name for name in SCREENS[view.screen]
               if later.versions.get(name, 0) != have[name]}
    assert set(later.regions) == changed - {"clock"}
    assert set(later.regions) < set(full.regions)


def test_markers_list_phases_injects_decisions_notes_stops_and_ratings(played):
    kinds = {m.kind for m in replay.markers(played)}
    assert {"phase", "inject", "decision", "note", "safety", "rating", "debrief",
            "clock"} <= kinds
    markers = replay.markers(played)
    assert [m.t_ms for m in markers] == sorted(m.t_ms for m in markers)
    note = next(m for m in markers if m.kind == "note")
    assert "Bonne réaction" in note.label and note.seq is not None


# --- The pages -----------------------------------------------------------------------------------


def test_replay_page_and_frames_for_the_trainer(trainer_client, played):
    page = trainer_client.get(reverse("sessions:replay", args=[played.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'type="range"' in html and 'id="replay-frame"' in html
    assert "Bonne réaction de la police." in html  # a trainer note among the markers
    for seat in Seat.objects.filter(session=played):
        assert f'value="seat:{seat.pk}"' in html
    police = Seat.objects.get(session=played, role__ident="police")
    end = Event.objects.filter(session=played).order_by("-seq").first().clock_ms
    response = trainer_client.get(reverse("sessions:replay_frame", args=[played.pk]),
                                  {"t": end, "as": f"seat:{police.pk}"})
    assert response.status_code == 200
    got = {k: canonical(v) for k, v in regions_in(response.content.decode()).items()}
    view = replay.viewpoint(played, f"seat:{police.pk}")
    assert got == fresh_regions(played, view, t_ms=end)
    assert "Penser à l'OPP." in response.content.decode() or "Penser à l&#x27;OPP." in \
        response.content.decode()


def test_partial_frame_swaps_only_changed_regions(trainer_client, played):
    view = replay.viewpoint(played, "trainer")
    frame = replay.frame_at(played, view, seq=1)
    have = ",".join(f"{n}:{v}" for n, v, _ in frame.region_versions)
    response = trainer_client.get(reverse("sessions:replay_frame", args=[played.pk]),
                                  {"seq": played.last_seq, "as": "trainer", "have": have})
    html = response.content.decode()
    assert 'id="replay-status" class="replay-frame__status"' in html
    assert 'hx-swap-oob="true"' in html and "replay-screen" not in html


def test_a_seat_perspective_never_shows_what_the_seat_could_not_see(trainer_client, played):
    police = Seat.objects.get(session=played, role__ident="police")
    response = trainer_client.get(reverse("sessions:replay_frame", args=[played.pk]),
                                  {"seq": played.last_seq, "as": f"seat:{police.pk}"})
    html = response.content.decode()
    assert "I am 19" not in html  # joy's cue
    assert "Bonne réaction de la police." not in html  # the trainer's note


@pytest.mark.parametrize("who", ["anonymous", "other_trainer", "participant"])
def test_replay_is_only_for_whoever_may_steer(client, played, who, groups):
    from tests.factories import UserFactory

    if who == "other_trainer":
        other = UserFactory(username="other")
        other.groups.add(groups["trainer"])
        client.force_login(other)
    elif who == "participant":
        seat = Seat.objects.get(session=played, role__ident="police")
        from sessions.access import pass_cookie_name, sign_pass

        client.cookies[pass_cookie_name(played.pk)] = sign_pass(played.pk, seat.holder_key)
    for name in ("replay", "replay_frame"):
        response = client.get(reverse(f"sessions:{name}", args=[played.pk]))
        assert response.status_code in (302, 403), (name, response.status_code)


def test_course_admin_may_replay_any_session(admin_client_, played):
    assert admin_client_.get(reverse("sessions:replay", args=[played.pk])).status_code == 200


def test_unknown_perspective_is_404(trainer_client, played):
    url = reverse("sessions:replay_frame", args=[played.pk])
    assert trainer_client.get(url, {"as": "seat:999999"}).status_code == 404
    assert trainer_client.get(url, {"as": "nonsense"}).status_code == 404


def test_replay_of_a_running_session(trainer_client, session, boss, wall):
    engine.session_start(session_id=session.pk, principal=boss)
    wall.advance(45)
    engine.scheduler_tick(session_id=session.pk)
    page = trainer_client.get(reverse("sessions:replay", args=[session.pk]), {"t": 40_000})
    assert page.status_code == 200
    assert 'max="45000"' in page.content.decode()


# --- A rehearsal by simulate_session ----------------------------------------------------------
# Its bots record which events each screen showed (feed lines), not the HTML of the
# regions, so the moments of the run cannot be compared region by region. What can be:
# a real consumer connected after the run streams the whole log, and the screen it
# builds equals the replay at the end; and at any moment the replay's state (through
# snapshots) equals a fresh fold of the log, for every kind of seat.

SHIPPED = Path(__file__).resolve().parents[2] / "fixtures" / "scenarios" / "nigerian-minors"


async def _streamed_screen(session, view: replay.Viewpoint, cookie: str) -> dict[str, str]:
    comm, _, _ = await connect(session.pk, cookie)
    screen = LiveScreen(comm, view, await database_sync_to_async(_initial)(session, view))
    screen.absorb(await drain(comm, quiet=0.6))
    await comm.disconnect()
    return screen.regions


@pytest.mark.slow
# The shipped scenario's 2 h 30 at ×240 with a bot per seat: a minute alone, several
# on a loaded 2-core runner (the default 300 s cut one such run short).
@pytest.mark.timeout(900)
@pytest.mark.django_db(transaction=True)
def test_a_simulated_rehearsal_replays_like_its_live_screens(trainer, monkeypatch):
    import json
    from io import StringIO

    from asgiref.sync import async_to_sync
    from django.core.management import CommandError, call_command

    from sessions.projections import project

    out = StringIO()
    try:
        call_command("simulate_session", str(SHIPPED), "--speed", "240", "--seed", "5",
                     "--drop-every", "0", "--json", stdout=out)  # progress: stderr
    except CommandError as failed:  # say why: the report is in the command's output
        report = json.loads(out.getvalue() or "{}")
        pytest.fail(f"{failed}: {report.get('failures')} errors={report.get('errors')}")
    session = Session.objects.get(pk=json.loads(out.getvalue())["session_id"])
    assert session.state == Session.State.ENDED and session.last_seq > 100
    monkeypatch.setattr(replay, "SNAPSHOT_EVERY", 40)  # many snapshots on a short log

    seats = {kind: Seat.objects.filter(session=session, role__kind=kind, holder_key__gt="")
             .select_related("role").order_by("role__order", "number").first()
             for kind in ("trainee", "actor", "observer")}
    views = [replay.viewpoint(session, "trainer")] + [
        replay.viewpoint(session, f"seat:{seat.pk}") for seat in seats.values()]
    for view in views:
        for seq in (session.last_seq // 4, session.last_seq // 2, 3 * session.last_seq // 4,
                    session.last_seq):
            got = replay.state_at(session, view.perspective, seq)
            fresh = project(Event.objects.filter(session=session, seq__lte=seq)
                            .order_by("seq"), view.perspective, session.version_id,
                            session.pk)
            for name in SCREENS[view.screen]:
                if name != "clock":
                    assert render_region(got, name) == render_region(fresh, name), (
                        view.token, seq, name)

    # The live screens, rebuilt by the real consumer from the log, equal the replay.
    trainer_of_run = session.trainer
    cookies = {"trainer": trainer_cookie(trainer_of_run)}
    for seat in seats.values():
        cookies[f"seat:{seat.pk}"] = pass_cookie(session.pk, seat.holder_key)
    end = session.clock_ms(session.ended_at)
    for view in views:
        live = async_to_sync(_streamed_screen)(session, view, cookies[view.token])
        assert fresh_regions(session, view, seq=session.last_seq) == live, view.token
        assert fresh_regions(session, view, t_ms=end) == live, view.token


def test_marker_labels_are_escaped(trainer_client, session, boss, wall):
    engine.session_start(session_id=session.pk, principal=boss)
    engine.note_add(session_id=session.pk, principal=boss, text='<img src=x onerror="x()">')
    page = trainer_client.get(reverse("sessions:replay", args=[session.pk])).content.decode()
    assert "&lt;img src=x" in page and '<img src=x onerror' not in page

"""The live screens' pages and endpoints: who may open what, uploads, the viewer, the pack.

Personas: trainer, trainee of role A (police), trainee of role B (parquet), actor
(joy), outsider. Also: a region pushed live equals the same region rendered fresh.
"""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from scenarios.models import Attachment, Blob, Inject
from sessions import engine
from sessions import projections as P
from sessions.audience import Perspective
from sessions.models import Event, Seat
from sessions.projections import apply, project_session
from sessions.render import SCREENS, batch_frames, frame, render_region, screen_for
from tests.sessions.conftest import seat_client, seat_up
from tests.sessions.review_helpers import Screen, canonical

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def _fresh_caches():
    from sessions.engine import due
    from sessions.layout import forget_caches

    forget_caches()  # rolled-back test databases reuse ids
    due.forget_versions()
    yield
    forget_caches()
    due.forget_versions()


@pytest.fixture
def started(session, boss, wall):
    engine.session_start(session_id=session.pk, principal=boss)
    return session


# --- Who may open what ------------------------------------------------------------------


def test_trainee_cannot_open_the_control_room_or_the_room_display(client, started):
    police = seat_up(started, "police")
    trainee = seat_client(started, police)
    for name in ("control", "room", "pack", "pack_pdf"):
        response = trainee.get(reverse(f"sessions:{name}", args=[started.pk]))
        assert response.status_code in (302, 403), name
        assert response.status_code != 200
    assert client.get(reverse("sessions:room", args=[started.pk])).status_code == 302  # login


def test_the_trainer_opens_every_screen(trainer_client, started):
    for name in ("control", "room", "pack"):
        response = trainer_client.get(reverse(f"sessions:{name}", args=[started.pk]))
        assert response.status_code == 200, name
    page = trainer_client.get(reverse("sessions:control", args=[started.pk])).content.decode()
    assert started.code in page and 'id="region-timeline"' in page and 'id="region-console"' in page


def test_every_region_a_screen_is_pushed_is_on_its_page(trainer_client, started, seated):
    """A pushed region with no target on the page would be dropped by htmx (and the
    replay, which renders SCREENS, would show what the live page never did)."""
    desk = reverse("sessions:desk", args=[started.pk])
    pages = {
        "control": trainer_client.get(reverse("sessions:control", args=[started.pk])),
        "room": trainer_client.get(reverse("sessions:room", args=[started.pk])),
        "desk": seat_client(started, seated["police"]).get(desk),
        "observer": seat_client(started, seated["obs"]).get(desk),
        "tablet": seat_client(started, seated["joy"]).get(desk, follow=True),
    }
    for screen, response in pages.items():
        html = response.content.decode()
        on_page = set(re.findall(r'id="region-([a-z]+)"', html))
        assert 'id="clock"' in html, screen
        assert set(SCREENS[screen]) - {"clock"} <= on_page, (screen, on_page)


def test_room_display_renders_only_public_things(trainer_client, started, boss, seated, wall):
    engine.note_add(session_id=started.pk, principal=boss, text="secret trainer note")
    wall.advance(61)
    engine.scheduler_tick(session_id=started.pk)  # "call" to police only
    page = trainer_client.get(reverse("sessions:room", args=[started.pk])).content.decode()
    assert 'id="region-broadcasts"' in page and 'id="clock"' in page
    assert "secret trainer note" not in page
    call = Inject.objects.get(version=started.version, ident="call")
    assert escape(call.title) not in page
    assert 'id="feed"' not in page and "region-timeline" not in page
    assert "?screen=room" in page


def test_desk_shows_only_the_roles_world(started, seated, wall):
    wall.advance(61)
    engine.scheduler_tick(session_id=started.pk)
    call = Inject.objects.get(version=started.version, ident="call")
    police = seat_client(started, seated["police"]).get(reverse("sessions:desk", args=[started.pk]))
    parquet = seat_client(started, seated["parquet"]).get(
        reverse("sessions:desk", args=[started.pk])
    )
    assert escape(call.title) in police.content.decode()
    assert escape(call.title) not in parquet.content.decode()
    # Nothing names the other roles' injects either.
    assert 'data-inject="call"' not in parquet.content.decode()


def test_tablet_lives_in_the_actors_app_and_redirects_trainees(started, seated):
    url = reverse("actors:tablet", args=[started.pk])
    assert url == f"/sessions/{started.pk}/tablet/"
    actor = seat_client(started, seated["joy"]).get(url)
    assert actor.status_code == 200 and "safety.stop" in actor.content.decode()
    trainee = seat_client(started, seated["police"]).get(url)
    assert trainee.status_code == 302 and trainee.url == reverse("sessions:desk", args=[started.pk])
    desk = seat_client(started, seated["joy"]).get(reverse("sessions:desk", args=[started.pk]))
    assert desk.url == url


# --- Ad-hoc injects with attachments -----------------------------------------------------


def post_adhoc(client, session, **extra):
    data = {
        "roles": ["police"],
        "title": "Note de la préfecture",
        "kind": "document",
        "from": "Préfecture",
        "body": "Voir la pièce jointe.",
    }
    data.update(extra)
    return client.post(reverse("sessions:adhoc", args=[session.pk]), data, HTTP_HX_REQUEST="true")


def test_adhoc_upload_rejects_a_disguised_file(trainer_client, started):
    before = Event.objects.filter(session=started).count()
    fake = SimpleUploadedFile("rapport.pdf", b"MZ\x90\x00 this is an executable", "application/pdf")
    response = post_adhoc(trainer_client, started, files=[fake])
    assert response.status_code == 400
    assert "rapport.pdf" in response.content.decode()
    assert Event.objects.filter(session=started).count() == before
    assert not Blob.objects.filter(data=b"MZ\x90\x00 this is an executable").exists()


def test_adhoc_upload_refuses_unknown_types(trainer_client, started):
    script = SimpleUploadedFile("outil.exe", b"MZ\x90\x00", "application/octet-stream")
    assert post_adhoc(trainer_client, started, files=[script]).status_code == 400


def test_adhoc_attachment_is_stored_and_served_only_to_its_recipients(
    trainer_client, started, seated
):
    pdf = SimpleUploadedFile("arrete.pdf", PDF, "application/pdf")
    response = post_adhoc(trainer_client, started, files=[pdf])
    assert response.status_code == 200, response.content
    event = Event.objects.filter(session=started, kind="inject.fired").latest("seq")
    [attachment] = event.payload["attachments"]
    assert attachment["blob"] == Blob.objects.get(data=PDF).sha256
    assert attachment["id"].startswith("adhoc-") and attachment["content_type"] == "application/pdf"
    url = reverse("sessions:attachment", args=[started.pk, attachment["id"]])
    served = seat_client(started, seated["police"]).get(url)
    assert served.status_code == 200 and served.content == PDF
    assert served["Content-Type"] == "application/pdf"
    assert served["X-Frame-Options"] == "SAMEORIGIN"
    assert seat_client(started, seated["parquet"]).get(url).status_code == 404
    assert trainer_client.get(url).status_code == 200
    assert Client().get(url).status_code == 403


def test_scenario_attachments_follow_their_inject(started, seated, boss):
    inject = Inject.objects.get(version=started.version, ident="manual")
    blob = Blob.objects.create(sha256="a" * 64, size=len(PNG), content_type="image/png", data=PNG)
    attachment = Attachment.objects.create(inject=inject, order=0, path="plan.png", blob=blob)
    url = reverse("sessions:attachment", args=[started.pk, attachment.pk])
    assert seat_client(started, seated["police"]).get(url).status_code == 404  # not fired yet
    engine.inject_fire(session_id=started.pk, principal=boss, inject_ident="manual")
    assert seat_client(started, seated["police"]).get(url).content == PNG
    assert seat_client(started, seated["parquet"]).get(url).status_code == 404


# --- The text viewer ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        (
            "piege.md",
            b"# Titre\n\n<script>alert(1)</script>\n\n[clic](javascript:alert(2))\n"
            b"<img src=x onerror=alert(3)>",
        ),
        ("piege.txt", b"<script>alert(1)</script> & <b onclick=alert(2)>x</b>"),
    ],
)
def test_md_and_txt_viewer_sanitises(trainer_client, started, seated, name, content):
    upload = SimpleUploadedFile(name, content, "text/plain")
    assert post_adhoc(trainer_client, started, files=[upload]).status_code == 200
    event = Event.objects.filter(session=started, kind="inject.fired").latest("seq")
    attachment_id = event.payload["attachments"][0]["id"]
    url = reverse("sessions:attachment_text", args=[started.pk, attachment_id])
    html = seat_client(started, seated["police"]).get(url).content.decode()
    assert "<script" not in html
    assert "<img" not in html
    assert not re.search(r"href=.?javascript", html)
    assert not re.search(r"<[^>]+\son\w+=", html)  # no event handler attribute survives
    if name.endswith(".md"):
        assert "<h1>Titre</h1>" in html
    else:
        assert "&lt;script&gt;" in html
    assert seat_client(started, seated["parquet"]).get(url).status_code == 404


def test_text_viewer_refuses_binary_documents(trainer_client, started, seated):
    post_adhoc(trainer_client, started, files=[SimpleUploadedFile("a.pdf", PDF)])
    event = Event.objects.filter(session=started, kind="inject.fired").latest("seq")
    url = reverse(
        "sessions:attachment_text", args=[started.pk, event.payload["attachments"][0]["id"]]
    )
    assert seat_client(started, seated["police"]).get(url).status_code == 404


# --- Invitations, the pack --------------------------------------------------------------------


def test_seat_invitation_fragment_is_for_the_trainer(trainer_client, started, seated):
    seat = Seat.objects.get(session=started, role__ident="joy")
    url = reverse("sessions:seat_invitation", args=[started.pk, seat.pk])
    page = trainer_client.get(url).content.decode()
    assert seat.invite_token in page and "qr.svg" in page
    assert seat_client(started, seated["police"]).get(url).status_code != 200


def test_pack_page_and_pdf(trainer_client, started):
    page = trainer_client.get(reverse("sessions:pack", args=[started.pk])).content.decode()
    assert "pack-msel" in page and "pack-actor-joy" in page and "pack-role-police" in page
    pdf = trainer_client.get(reverse("sessions:pack_pdf", args=[started.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


# --- Live equals fresh ------------------------------------------------------------------------


def test_every_pushed_frame_turns_the_screen_into_the_screen_rendered_fresh(
    started, boss, seated, wall
):
    """house-style: screen before + pushed frame = fresh screen, region by region, for
    every event and screen — whole regions and item-sized deltas alike."""
    wall.advance(125)
    engine.scheduler_tick(session_id=started.pk)
    engine.decision_answer(
        session_id=started.pk,
        principal=seated["parquet"],
        inject_ident="dec",
        option="opp",
        rationale="mineure",
    )
    engine.message_send(
        session_id=started.pk, principal=seated["police"], to_role="parquet", text="Bonjour"
    )
    engine.cue_acknowledge(session_id=started.pk, principal=seated["joy"], inject_ident="cue1")
    engine.safety_stop(session_id=started.pk, principal=seated["joy"], note="pause")
    engine.note_add(session_id=started.pk, principal=boss, text="note")
    engine.clock_set_speed(session_id=started.pk, principal=boss, speed=4)
    # The inbox grows and is read one item at a time (item-sized deltas, not the list).
    first = engine.inject_adhoc(session_id=started.pk, principal=boss, roles=["police"],
                                title="Premier", body="**un**")
    engine.inject_adhoc(session_id=started.pk, principal=boss, roles=["police", "parquet"],
                        title="Deuxième")
    engine.item_open(session_id=started.pk, principal=seated["police"], item=first.seq)
    engine.inject_adhoc(session_id=started.pk, principal=boss, roles=["police"],
                        title="Troisième")
    seats = {s.role.ident: s for s in Seat.objects.filter(session=started).select_related("role")}
    perspectives = [Perspective.trainer()] + [
        Perspective.for_seat(seats[ident]) for ident in ("police", "parquet", "joy", "obs")
    ]
    events = list(Event.objects.filter(session=started).order_by("seq"))
    deltas = []
    for perspective in perspectives:
        role_kind = seats[perspective.role_ident].role.kind if perspective.role_ident else ""
        screen = screen_for(perspective, role_kind)
        for event in events:
            if not perspective.sees_event(event):
                continue
            live = project_session(started, perspective, upto_seq=event.seq - 1)
            shown = Screen(regions_of(live, screen))
            changed = apply(live, event)
            pushed = frame(event, live, changed, screen)
            shown.apply(pushed)
            fresh = project_session(started, perspective, upto_seq=event.seq)
            assert shown.regions() == {name: canonical(html) for name, html in
                                       regions_of(fresh, screen).items()}, (
                perspective, event.kind)
            if P.INBOX in changed and 'id="region-inbox"' not in pushed:
                deltas.append((perspective.role_ident, event.kind))
    # Both kinds of delta were checked: a new item on a list, a read item.
    assert ("police", "inject.fired") in deltas and ("police", "item.opened") in deltas


def regions_of(state, screen: str) -> dict[str, str]:
    return {name: render_region(state, name) for name in SCREENS[screen] if name != "clock"}


@pytest.mark.parametrize("split", [0, 1, 3])
def test_a_batch_of_frames_turns_the_screen_into_the_screen_rendered_fresh(
    started, boss, seated, split
):
    """A socket catching up gets many events at once: regions once, inbox items as
    deltas — or the inbox whole when its first item is in the batch (split 0)."""
    police = seated["police"]
    sent = [engine.inject_adhoc(session_id=started.pk, principal=boss, roles=["police"],
                                title=f"Appel {n}") for n in range(4)]
    engine.item_open(session_id=started.pk, principal=police, item=sent[1].seq)
    engine.message_send(session_id=started.pk, principal=police, to_role="parquet",
                        text="Reçu")
    engine.item_open(session_id=started.pk, principal=police, item=sent[3].seq)
    perspective = Perspective.for_seat(Seat.objects.get(pk=police.seat_id))
    visible = [e for e in Event.objects.filter(session=started).order_by("seq")
               if perspective.sees_event(e)]
    cut = visible[0].seq - 1 if split == 0 else sent[split].seq
    state = project_session(started, perspective, upto_seq=cut)
    shown = Screen(regions_of(state, "desk"))
    folded = [(event, apply(state, event)) for event in visible if event.seq > cut]
    frames = batch_frames(folded, state, "desk", language="fr")
    for text in frames:
        shown.apply(text)
    assert shown.regions() == {name: canonical(html) for name, html in
                               regions_of(state, "desk").items()}
    whole = sum('id="region-inbox"' in text for text in frames)
    assert whole == (1 if split == 0 else 0)

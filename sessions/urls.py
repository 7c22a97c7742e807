from django.urls import path

from sessions import review_views, views

app_name = "sessions"

urlpatterns = [
    path("sessions/", views.session_list, name="list"),
    path("sessions/new/<int:version_id>/", views.session_new, name="new"),
    path("sessions/<int:session_id>/", views.control_room, name="control"),
    path("sessions/<int:session_id>/room/", views.room_display, name="room"),
    path("sessions/<int:session_id>/adhoc/", views.adhoc_inject, name="adhoc"),
    path("sessions/<int:session_id>/pack/", views.pack, name="pack"),
    path("sessions/<int:session_id>/pack.pdf", views.pack_pdf, name="pack_pdf"),
    path("sessions/<int:session_id>/seats/<int:seat_id>/qr.svg", views.seat_qr, name="seat_qr"),
    path("sessions/<int:session_id>/seats/<int:seat_id>/invitation/", views.seat_invitation,
         name="seat_invitation"),
    path("join/", views.join, name="join"),
    path("sessions/<int:session_id>/join/", views.seats, name="seats"),
    path("sessions/<int:session_id>/lobby/", views.lobby, name="lobby"),
    path("sessions/<int:session_id>/desk/", views.desk, name="desk"),
    path("sessions/<int:session_id>/leave/", views.leave, name="leave"),
    # Scenario attachments by id, ad-hoc ones as "adhoc-N-i" (see views.attachment).
    path("sessions/<int:session_id>/attachments/<str:attachment_id>/", views.attachment,
         name="attachment"),
    path("sessions/<int:session_id>/attachments/<str:attachment_id>/text/",
         views.attachment_text, name="attachment_text"),
    # The whole of a capped list (a thread, the notes), live or replayed: views.region_all.
    path("sessions/<int:session_id>/regions/<str:region>/all/", views.region_all,
         name="region_all"),
    path("invite/<str:token>/", views.invite, name="invite"),
    # After the exercise: replay, after-action report, exports (sessions.review_views).
    path("sessions/<int:session_id>/replay/", review_views.replay_page, name="replay"),
    path("sessions/<int:session_id>/replay/frame/", review_views.replay_frame,
         name="replay_frame"),
    path("sessions/<int:session_id>/report/", review_views.report_page, name="report"),
    path("sessions/<int:session_id>/report.pdf", review_views.report_pdf, name="report_pdf"),
    path("sessions/<int:session_id>/report/rate/", review_views.report_rate,
         name="report_rate"),
    path("sessions/<int:session_id>/report/debrief/", review_views.report_debrief,
         name="report_debrief"),
    path("sessions/<int:session_id>/rate/", review_views.rate_page, name="rate"),
    path("sessions/<int:session_id>/export.json", review_views.export_json, name="export_json"),
    path("sessions/<int:session_id>/events.csv", review_views.export_csv, name="export_csv"),
    path("sessions/<int:session_id>/delete/", review_views.session_delete, name="delete"),
    path("sessions/archive/", review_views.archive, name="archive"),
    path("sessions/archive/audit/", review_views.audit_trail, name="audit"),
    path("sessions/archive/retention/", review_views.archive_retention,
         name="archive_retention"),
]

from django.urls import path

from sessions import views

app_name = "sessions"

urlpatterns = [
    path("sessions/", views.session_list, name="list"),
    path("sessions/new/<int:version_id>/", views.session_new, name="new"),
    path("sessions/<int:session_id>/", views.control_room, name="control"),
    path("sessions/<int:session_id>/seats/<int:seat_id>/qr.svg", views.seat_qr, name="seat_qr"),
    path("join/", views.join, name="join"),
    path("sessions/<int:session_id>/join/", views.seats, name="seats"),
    path("sessions/<int:session_id>/lobby/", views.lobby, name="lobby"),
    path("sessions/<int:session_id>/desk/", views.desk, name="desk"),
    path("sessions/<int:session_id>/tablet/", views.tablet, name="tablet"),
    path("sessions/<int:session_id>/leave/", views.leave, name="leave"),
    path("sessions/<int:session_id>/attachments/<int:attachment_id>/", views.attachment,
         name="attachment"),
    path("invite/<str:token>/", views.invite, name="invite"),
]

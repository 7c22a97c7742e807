from django.urls import path

from actors import views

app_name = "actors"

urlpatterns = [
    path("sessions/<int:session_id>/tablet/", views.tablet, name="tablet"),
]

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from simtrain import views

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),  # the language switch posts here
    path("healthz", views.healthz, name="healthz"),
    path("", views.home, name="home"),
    path("login/", views.ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/login/", views.admin_login, name="admin_login"),  # the login throttle's codes
    path("admin/", admin.site.urls),
    path("scenarios/", include("scenarios.urls")),
    path("", include("sessions.urls")),
    path("", include("actors.urls")),
]

from django.urls import path

from scenarios import views

app_name = "scenarios"

# Fixed paths first: a scenario slug could otherwise shadow them.
urlpatterns = [
    path("", views.library, name="library"),
    path("import/", views.scenario_import, name="import"),
    path("schema.json", views.schema, name="schema"),
    path("<slug:slug>/", views.version_detail, name="latest"),
    path("<slug:slug>/history/", views.history, name="history"),
    path("<slug:slug>/v<int:number>/", views.version_detail, name="version"),
    path("<slug:slug>/v<int:number>/receives/", views.role_receives, name="receives"),
    path(
        "<slug:slug>/v<int:number>/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="attachment",
    ),
    path("<slug:slug>/v<int:number>/export.yaml", views.export_yaml, name="export_yaml"),
    path("<slug:slug>/v<int:number>/export.zip", views.export_zip, name="export_zip"),
]

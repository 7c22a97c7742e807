from django.urls import path

from scenarios import diff_views, drafts_views, review_views, views
from scenarios.editor import views as editor

app_name = "scenarios"

# Fixed paths first: a scenario slug could otherwise shadow them.
urlpatterns = [
    path("", views.library, name="library"),
    path("import/", views.scenario_import, name="import"),
    path("schema.json", views.schema, name="schema"),
    path("drafts/", drafts_views.drafts, name="drafts"),
    path("drafts/new/", drafts_views.draft_new, name="draft_new"),
    path("drafts/<uuid:draft_id>/", editor.draft_edit, name="draft_edit"),
    path("drafts/<uuid:draft_id>/save/", editor.draft_save, name="draft_save"),
    path("drafts/<uuid:draft_id>/check/", editor.draft_check, name="draft_check"),
    path("drafts/<uuid:draft_id>/files/", editor.draft_files, name="draft_file"),
    path("drafts/<uuid:draft_id>/files/<path:path>", editor.draft_file, name="draft_file"),
    path("drafts/<uuid:draft_id>/submit/", drafts_views.draft_submit, name="draft_submit"),
    path("drafts/<uuid:draft_id>/discard/", drafts_views.draft_discard, name="draft_discard"),
    path("drafts/<uuid:draft_id>/preview/", review_views.draft_preview, name="draft_preview"),
    path("reviews/", review_views.reviews, name="reviews"),
    path("<slug:slug>/", views.version_detail, name="latest"),
    path("<slug:slug>/history/", views.history, name="history"),
    path("<slug:slug>/diff/", diff_views.version_diff, name="diff"),
    path("<slug:slug>/v<int:number>/", views.version_detail, name="version"),
    path("<slug:slug>/v<int:number>/receives/", views.role_receives, name="receives"),
    path(
        "<slug:slug>/v<int:number>/edit/",
        drafts_views.draft_from_version,
        name="draft_from_version",
    ),
    path(
        "<slug:slug>/v<int:number>/duplicate/",
        drafts_views.draft_duplicate,
        name="draft_duplicate",
    ),
    path("<slug:slug>/v<int:number>/review/", review_views.review_decide, name="review_decide"),
    path(
        "<slug:slug>/v<int:number>/rehearse/",
        review_views.version_rehearse,
        name="version_rehearse",
    ),
    path(
        "<slug:slug>/v<int:number>/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="attachment",
    ),
    path("<slug:slug>/v<int:number>/export.yaml", views.export_yaml, name="export_yaml"),
    path("<slug:slug>/v<int:number>/export.zip", views.export_zip, name="export_zip"),
    path("<slug:slug>/v<int:number>/export.xlsx", views.export_xlsx, name="export_xlsx"),
    path(
        "<slug:slug>/v<int:number>/export-xlsx.zip",
        views.export_xlsx_zip,
        name="export_xlsx_zip",
    ),
]

from django.urls import path

from . import views

app_name = "matrix"
urlpatterns = [
    path("matrix/", views.ActivityListView.as_view(), name="activity_list"),
    path("matrix/grid/", views.GridView.as_view(), name="grid"),
    path("matrix/map/", views.MapView.as_view(), name="map"),
    path("matrix/impact/", views.impact, name="impact"),
    path("matrix/timeline/", views.TimelineView.as_view(), name="timeline"),
    path("matrix/export.csv", views.ActivityExportView.as_view(), name="activity_export"),
    path("matrix/export.xlsx", views.ActivityXlsxView.as_view(), name="activity_xlsx"),
    path("matrix/export.pdf", views.ActivityPdfView.as_view(), name="activity_pdf"),
    path("matrix/monthly/", views.monthly, name="monthly"),
    path("matrix/monthly/subscribe/", views.subscribe, name="subscribe"),
    path("matrix/monthly/subscriptions/<int:pk>/stop/", views.unsubscribe, name="unsubscribe"),
    path("matrix/import/", views.import_activities, name="import"),
    path("matrix/import/template.xlsx", views.import_template, {"kind": "xlsx"}, name="import_template_xlsx"),
    path("matrix/import/template.csv", views.import_template, {"kind": "csv"}, name="import_template_csv"),
    path("activities/new/", views.activity_create, name="activity_create"),
    path("activities/<int:key>/", views.ActivityDetailView.as_view(), name="activity"),
    path("activities/<int:key>/edit/", views.activity_edit, name="activity_edit"),
    path("activities/<int:key>/delete/", views.record_delete, {"kind": "activity"}, name="activity_delete"),
    path("programmes/", views.ProgrammeListView.as_view(), name="programme_list"),
    path("programmes/export.csv", views.ProgrammeExportView.as_view(), name="programme_export"),
    path("programmes/<slug:key>/", views.ProgrammeDetailView.as_view(), name="programme"),
    path("requests/", views.RequestListView.as_view(), name="request_list"),
    path("requests/export.csv", views.RequestExportView.as_view(), name="request_export"),
    path("requests/new/", views.request_create, name="request_create"),
    path("requests/<int:key>/", views.RequestDetailView.as_view(), name="request"),
    path("requests/<int:key>/edit/", views.request_edit, name="request_edit"),
    path("requests/<int:key>/delete/", views.record_delete, {"kind": "request"}, name="request_delete"),
    path("requests/<int:key>/status/", views.request_status, name="request_status"),
    path("requests/<int:key>/refer/", views.request_refer, name="request_refer"),
    path("referrals/<int:key>/answer/", views.referral_answer, name="referral_answer"),
    path("thematic-areas/", views.thematic_areas, name="thematic_areas"),
    path("thematic-areas/<slug:code>/", views.thematic_area, name="thematic_area"),
]

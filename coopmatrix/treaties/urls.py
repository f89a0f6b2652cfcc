from django.urls import path

from . import views

app_name = "treaties"
urlpatterns = [
    path("instruments/", views.InstrumentListView.as_view(), name="instrument_list"),
    path("instruments/export.csv", views.InstrumentExportView.as_view(), name="instrument_export"),
    path("instruments/<slug:key>/", views.InstrumentDetailView.as_view(), name="instrument"),
    path("treaty-actions/", views.TreatyActionListView.as_view(), name="action_list"),
    path("treaty-actions/export.csv", views.TreatyActionExportView.as_view(), name="action_export"),
    path("treaty-actions/import/", views.import_actions, name="action_import"),
    path(
        "treaty-actions/template.xlsx", views.import_template, {"kind": "xlsx"}, name="import_template_xlsx"
    ),
    path("treaty-actions/template.csv", views.import_template, {"kind": "csv"}, name="import_template_csv"),
    path("treaty-actions/new/", views.action_create, name="action_create"),
    path("treaty-actions/<int:key>/", views.TreatyActionDetailView.as_view(), name="action"),
    path("treaty-actions/<int:key>/change/", views.action_edit, name="action_edit"),
    path("treaty-actions/<int:key>/delete/", views.action_delete, name="action_delete"),
    path("parties/", views.table2, name="table2"),
    path("parties/map/", views.participation_map, name="map"),
]

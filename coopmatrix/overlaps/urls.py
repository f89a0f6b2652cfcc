from django.urls import path

from . import gap_views, views

app_name = "overlaps"
urlpatterns = [
    path("matrix/overlaps/", views.OverlapQueueView.as_view(), name="queue"),
    path("matrix/overlaps/export.csv", views.OverlapExportView.as_view(), name="export"),
    path("matrix/overlaps/export.xlsx", views.OverlapXlsxView.as_view(), name="xlsx"),
    path("matrix/overlaps/<int:key>/", views.overlap_page, name="overlap"),
    path("matrix/overlaps/<int:key>/verdict/", views.overlap_verdict, name="verdict"),
    path("matrix/gaps/", gap_views.gap_grid, name="gap_grid"),
    path("matrix/gaps/requests/", gap_views.requests_waiting, name="requests_waiting"),
    path("matrix/gaps/treaties/", gap_views.treaty_gaps, name="treaty_gaps"),
]

from django.urls import path

from . import views

app_name = "overlaps"
urlpatterns = [
    path("matrix/overlaps/", views.OverlapQueueView.as_view(), name="queue"),
    path("matrix/overlaps/export.csv", views.OverlapExportView.as_view(), name="export"),
    path("matrix/overlaps/export.xlsx", views.OverlapXlsxView.as_view(), name="xlsx"),
    path("matrix/overlaps/<int:key>/", views.overlap_page, name="overlap"),
    path("matrix/overlaps/<int:key>/verdict/", views.overlap_verdict, name="verdict"),
]

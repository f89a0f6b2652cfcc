from django.urls import path

from . import views

app_name = "exchange"

urlpatterns = [
    path("matrix/import/iati/", views.import_iati, name="iati_import"),
    path("matrix/export.iati.xml", views.export_iati, name="iati_export"),
    path("matrix/import/hxl/", views.import_hxl, name="hxl_import"),
    path("matrix/export.hxl.csv", views.export_hxl, name="hxl_export"),
]

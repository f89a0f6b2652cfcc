from django.urls import path

from . import views

app_name = "exchange"

urlpatterns = [
    path("matrix/import/iati/", views.import_iati, name="iati_import"),
    path("matrix/export.iati.xml", views.export_iati, name="iati_export"),
]

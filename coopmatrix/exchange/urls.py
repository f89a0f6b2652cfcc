from django.urls import path

from . import views

app_name = "exchange"

urlpatterns = [
    path("matrix/import/iati/", views.import_iati, name="iati_import"),
]

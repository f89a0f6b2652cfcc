from django.urls import path

from . import views

app_name = "treaties"
urlpatterns = [
    path("instruments/", views.InstrumentListView.as_view(), name="instrument_list"),
    path("instruments/export.csv", views.InstrumentExportView.as_view(), name="instrument_export"),
    path("instruments/<slug:key>/", views.InstrumentDetailView.as_view(), name="instrument"),
]

from django.urls import path

from . import views

app_name = "geo"
urlpatterns = [
    path("states/", views.StateListView.as_view(), name="state_list"),
    path("states/export.csv", views.StateExportView.as_view(), name="state_export"),
    path("states/<str:key>/", views.StateDetailView.as_view(), name="state"),
    path("regions/<int:key>/", views.RegionDetailView.as_view(), name="region"),
]

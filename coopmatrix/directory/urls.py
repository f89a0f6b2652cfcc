from django.urls import path

from . import views

app_name = "directory"
urlpatterns = [
    path("organizations/", views.OrganizationListView.as_view(), name="organization_list"),
    path("organizations/export.csv", views.OrganizationExportView.as_view(), name="organization_export"),
    path("organizations/<slug:key>/", views.OrganizationDetailView.as_view(), name="organization"),
    path("memberships/", views.MembershipListView.as_view(), name="membership_list"),
    path("memberships/export.csv", views.MembershipExportView.as_view(), name="membership_export"),
    path("memberships/<int:key>/", views.MembershipDetailView.as_view(), name="membership"),
]

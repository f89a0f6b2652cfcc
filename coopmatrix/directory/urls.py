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
    path("contacts/", views.ContactListView.as_view(), name="contact_list"),
    path("contacts/export/", views.ContactExportView.as_view(), name="contact_export"),
    path("contacts/new/", views.contact_create, name="contact_create"),
    path("contacts/import/", views.import_directory, name="import"),
    path("contacts/template.xlsx", views.import_template, name="import_template"),
    path("contacts/corrections/", views.corrections, name="corrections"),
    path("contacts/exports/", views.export_log, name="export_log"),
    path("contacts/<int:key>/", views.ContactDetailView.as_view(), name="contact"),
    path("contacts/<int:key>/vcard/", views.contact_vcard, name="contact_vcard"),
    path("contacts/<int:key>/change/", views.contact_edit, name="contact_edit"),
    path("contacts/<int:key>/delete/", views.contact_delete, name="contact_delete"),
    path("contacts/<int:key>/erase/", views.contact_erase, name="contact_erase"),
    path("verify/<str:token>/", views.verify, name="verify"),
    path("<str:kind>/<str:key>/send-verification/", views.send_verification, name="send_verification"),
]

from django.urls import path

from . import views

app_name = "funding"
urlpatterns = [
    path("funding/table1/", views.table1, name="table1"),
    path("funding/gap/", views.funding_gap, name="gap"),
    path("funding/contributions/", views.ContributionListView.as_view(), name="contribution_list"),
    path(
        "funding/contributions/export.csv", views.ContributionExportView.as_view(), name="contribution_export"
    ),
    path("funding/contributions/new/", views.contribution_create, name="contribution_create"),
    path("funding/contributions/import/", views.import_contributions, name="import"),
    path(
        "funding/contributions/template.xlsx",
        views.import_template,
        {"kind": "xlsx"},
        name="import_template_xlsx",
    ),
    path(
        "funding/contributions/template.csv",
        views.import_template,
        {"kind": "csv"},
        name="import_template_csv",
    ),
    path("funding/contributions/<int:key>/", views.ContributionDetailView.as_view(), name="contribution"),
    path("funding/contributions/<int:key>/change/", views.contribution_edit, name="contribution_edit"),
    path("funding/contributions/<int:key>/delete/", views.contribution_delete, name="contribution_delete"),
    path("funding/needs/", views.FundingNeedListView.as_view(), name="need_list"),
    path("funding/needs/export.csv", views.FundingNeedExportView.as_view(), name="need_export"),
    path("funding/needs/<int:key>/", views.FundingNeedDetailView.as_view(), name="need"),
    path("funding/rates/", views.ExchangeRateListView.as_view(), name="rate_list"),
    path("funding/rates/export.csv", views.ExchangeRateExportView.as_view(), name="rate_export"),
    path("funding/funds/", views.FundListView.as_view(), name="fund_list"),
    path("funding/funds/export.csv", views.FundExportView.as_view(), name="fund_export"),
    path("funding/funds/<slug:key>/", views.FundDetailView.as_view(), name="fund"),
]

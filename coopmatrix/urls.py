"""The site's URLs: core's pages, then each installed domain app's (declared in its AppConfig)."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from coopmatrix.api import api
from coopmatrix.core import job_views
from coopmatrix.core import views as core_views
from coopmatrix.core.registry import registry

# The admin's own sign-in form would skip allauth's second factor and rate limits: every sign-in
# goes through allauth, and the admin opens for a staff user already signed in.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("search/", core_views.search, name="search"),
    path("me/views/", core_views.saved_views, name="saved_views"),
    path("me/views/<int:pk>/", core_views.saved_view_change, name="saved_view_change"),
    path("me/jobs/", job_views.job_list, name="jobs"),
    path("me/jobs/export/", job_views.job_export, name="job_export"),
    path("me/jobs/<int:pk>/", job_views.job_detail, name="job"),
    path("me/jobs/<int:pk>/result/", job_views.job_result, name="job_result"),
    path("me/jobs/<int:pk>/errors.txt", job_views.job_errors, name="job_errors"),
    path("healthz", job_views.healthz, name="healthz"),
    *(path(prefix, include(module)) for prefix, module in registry.urlconfs),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]

"""The site's URLs: core's pages, then each installed domain app's (declared in its AppConfig)."""

from django.contrib import admin
from django.urls import include, path

from coopmatrix.api import api
from coopmatrix.core import views as core_views
from coopmatrix.core.registry import registry

urlpatterns = [
    path("", core_views.home, name="home"),
    path("search/", core_views.search, name="search"),
    *(path(prefix, include(module)) for prefix, module in registry.urlconfs),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]

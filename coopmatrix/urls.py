from django.contrib import admin
from django.urls import include, path

from coopmatrix.api import api
from coopmatrix.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("search/", core_views.search, name="search"),
    path("", include("coopmatrix.geo.urls")),
    path("", include("coopmatrix.directory.urls")),
    path("", include("coopmatrix.treaties.urls")),
    path("", include("coopmatrix.matrix.urls")),
    path("me/", include("coopmatrix.accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]

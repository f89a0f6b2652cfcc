from django.utils.translation import gettext_lazy as _

from coopmatrix.core.registry import DomainApp, Room


class GeoConfig(DomainApp):
    default = True  # DomainApp itself is not an app: this class is
    name = "coopmatrix.geo"
    label = "geo"
    verbose_name = "States and regions"
    urls = "coopmatrix.geo.urls"
    api = "coopmatrix.geo.api:router"
    rooms = (Room(_("States"), "geo:state_list", order=30),)
    search = "coopmatrix.geo.registration:search_indexes"
    reference = "coopmatrix.geo.reference:LOADER"
    figures = "coopmatrix.geo.registration:figures"

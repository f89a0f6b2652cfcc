from django.utils.translation import gettext_lazy as _

from coopmatrix.core.registry import DomainApp, Room


class TreatiesConfig(DomainApp):
    default = True  # DomainApp itself is not an app: this class is
    name = "coopmatrix.treaties"
    label = "treaties"
    verbose_name = "Treaties"
    urls = "coopmatrix.treaties.urls"
    api = "coopmatrix.treaties.api:router"
    rooms = (
        Room(_("Instruments"), "treaties:instrument_list", order=60),
        Room(_("Parties"), "treaties:table2", order=70),
    )
    search = "coopmatrix.treaties.registration:search_indexes"
    reference = "coopmatrix.treaties.reference:LOADER"
    figures = "coopmatrix.treaties.registration:figures"
    visibility_rows = "coopmatrix.treaties.tests.visibility"
    panels = {"state": ("coopmatrix.treaties.views:state_panel",)}

from django.utils.translation import gettext_lazy as _

from coopmatrix.core.registry import DomainApp, Link


class ExchangeConfig(DomainApp):
    """Data exchange with other systems: IATI activity files and HXL-tagged 3W sheets, in and out."""

    default = True
    name = "coopmatrix.exchange"
    label = "exchange"
    verbose_name = "Data exchange"
    urls = "coopmatrix.exchange.urls"
    api = "coopmatrix.exchange.api:router"
    room_links = {
        "matrix:activity_list": (
            Link(
                _("Import IATI"), "exchange:iati_import", allowed="coopmatrix.exchange.importers:may_import"
            ),
            Link(
                _("Import 3W (HXL)"), "exchange:hxl_import", allowed="coopmatrix.matrix.importers:may_import"
            ),
        ),
    }
    panels = {"activity": ("coopmatrix.exchange.views:activity_panel",)}
    importers = {
        "iati": "coopmatrix.exchange.importers:import_file",
        "hxl": "coopmatrix.exchange.hxl:import_file",
    }
    exports = ("exchange:iati_export", "exchange:hxl_export")
    list_exports = {
        "matrix": (
            Link(_("IATI XML"), "exchange:iati_export"),
            Link(_("HXL 3W (CSV)"), "exchange:hxl_export"),
        )
    }

from django.utils.translation import gettext_lazy as _

from coopmatrix.core.registry import DomainApp, Link, Room


class TreatiesConfig(DomainApp):
    default = True  # DomainApp itself is not an app: this class is
    name = "coopmatrix.treaties"
    label = "treaties"
    verbose_name = "Treaties"
    urls = "coopmatrix.treaties.urls"
    api = "coopmatrix.treaties.api:router"
    rooms = (
        Room(
            _("Instruments"),
            "treaties:instrument_list",
            order=60,
            links=(
                Link(_("Instruments"), "treaties:instrument_list"),
                Link(_("Treaty actions"), "treaties:action_list"),
                Link(
                    _("Import treaty actions"),
                    "treaties:action_import",
                    allowed="coopmatrix.treaties.importers:may_import",
                ),
            ),
        ),
        Room(
            _("Parties"),
            "treaties:table2",
            order=70,
            links=(Link(_("Parties to each instrument"), "treaties:table2"), Link(_("Map"), "treaties:map")),
        ),
    )
    search = "coopmatrix.treaties.registration:search_indexes"
    reference = "coopmatrix.treaties.reference:LOADER"
    figures = "coopmatrix.treaties.registration:figures"
    changes = "coopmatrix.treaties.registration:changes"
    visibility_rows = "coopmatrix.treaties.tests.visibility"
    importers = {"treaty_actions": "coopmatrix.treaties.importers:import_file"}
    exports = ("treaties:action_export",)
    panels = {"state": ("coopmatrix.treaties.views:state_panel",)}

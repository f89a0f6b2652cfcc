from django.utils.translation import gettext_lazy as _

from coopmatrix.core.registry import DomainApp, Link, Room


class DirectoryConfig(DomainApp):
    default = True  # DomainApp itself is not an app: this class is
    name = "coopmatrix.directory"
    label = "directory"
    verbose_name = "Directory"
    urls = "coopmatrix.directory.urls"
    api = "coopmatrix.directory.api:router"
    rooms = (
        Room(
            _("Organizations"),
            "directory:organization_list",
            order=40,
            links=(
                Link(_("Organizations"), "directory:organization_list"),
                Link(_("Memberships"), "directory:membership_list"),
            ),
        ),
        Room(
            _("Contacts"),
            "directory:contact_list",
            order=50,
            links=(
                Link(_("Contacts"), "directory:contact_list"),
                Link(
                    _("Import contacts"),
                    "directory:import",
                    allowed="coopmatrix.directory.importers:may_import",
                ),
                Link(
                    _("Corrections"), "directory:corrections", allowed="coopmatrix.core.roles:is_secretariat"
                ),
                Link(
                    _("Exports of contacts"),
                    "directory:export_log",
                    allowed="coopmatrix.core.roles:is_secretariat",
                ),
            ),
        ),
    )
    search = "coopmatrix.directory.registration:search_indexes"
    reference = "coopmatrix.directory.reference:LOADER"
    figures = "coopmatrix.directory.registration:figures"
    changes = "coopmatrix.directory.registration:changes"
    visibility_rows = "coopmatrix.directory.tests.visibility"
    jobs = {"stale_contacts_report": "coopmatrix.directory.jobs:stale_contacts_report"}
    importers = {"directory": "coopmatrix.directory.importers:import_file"}
    exports = ("directory:contact_export",)
    panels = {
        "state": (
            "coopmatrix.directory.views:membership_panel",
            "coopmatrix.directory.views:state_panel",
        )
    }

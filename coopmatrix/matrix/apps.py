from django.utils.translation import gettext_lazy as _

from coopmatrix.core.registry import DomainApp, Link, Room


class MatrixConfig(DomainApp):
    default = True  # DomainApp itself is not an app: this class is
    name = "coopmatrix.matrix"
    label = "matrix"
    verbose_name = "Assistance matrix"
    urls = "coopmatrix.matrix.urls"
    api = "coopmatrix.matrix.api:router"
    rooms = (
        Room(
            _("Matrix"),
            "matrix:activity_list",
            order=10,
            links=(
                Link(_("Activities"), "matrix:activity_list"),
                Link(_("Programmes"), "matrix:programme_list"),
                Link(_("Thematic areas"), "matrix:thematic_areas"),
                Link(_("Impact"), "matrix:impact"),
                Link(_("Monthly matrix"), "matrix:monthly"),
                Link(
                    _("Import activities"), "matrix:import", allowed="coopmatrix.matrix.importers:may_import"
                ),
            ),
        ),
        Room(
            _("Requests"),
            "matrix:request_list",
            order=20,
            links=(
                Link(_("Requests"), "matrix:request_list"),
                Link(_("Who to contact"), "matrix:who_to_contact"),
            ),
        ),
    )
    search = "coopmatrix.matrix.registration:search_indexes"
    reference = "coopmatrix.matrix.reference:LOADER"
    figures = "coopmatrix.matrix.registration:figures"
    changes = "coopmatrix.matrix.registration:changes"
    visibility_rows = "coopmatrix.matrix.tests.visibility"
    panels = {"state": ("coopmatrix.matrix.views:state_panel",)}
    jobs = {"monthly_matrix_mailing": "coopmatrix.matrix.monthly:mailing_job"}
    importers = {"activities": "coopmatrix.matrix.importers:import_file"}
    exports = ("matrix:activity_export", "matrix:activity_xlsx", "matrix:activity_pdf", "matrix:monthly")

    def ready(self) -> None:
        super().ready()
        from . import signals  # noqa: F401 - connects the receivers

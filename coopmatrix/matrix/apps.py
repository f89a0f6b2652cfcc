from django.utils.translation import gettext_lazy as _

from coopmatrix.core.registry import DomainApp, Room


class MatrixConfig(DomainApp):
    default = True  # DomainApp itself is not an app: this class is
    name = "coopmatrix.matrix"
    label = "matrix"
    verbose_name = "Assistance matrix"
    urls = "coopmatrix.matrix.urls"
    api = "coopmatrix.matrix.api:router"
    rooms = (
        Room(_("Matrix"), "matrix:activity_list", order=10),
        Room(_("Requests"), "matrix:request_list", order=20),
    )
    search = "coopmatrix.matrix.registration:search_indexes"
    reference = "coopmatrix.matrix.reference:LOADER"
    figures = "coopmatrix.matrix.registration:figures"
    visibility_rows = "coopmatrix.matrix.tests.visibility"
    panels = {"state": ("coopmatrix.matrix.views:state_panel",)}

    def ready(self) -> None:
        super().ready()
        from . import signals  # noqa: F401 - connects the receivers

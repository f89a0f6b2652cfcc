from typing import Any

from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.registry import DomainApp, Link, Room


class FundingConfig(DomainApp):
    default = True
    name = "coopmatrix.funding"
    label = "funding"
    verbose_name = "Funding"
    urls = "coopmatrix.funding.urls"
    api = "coopmatrix.funding.api:router"
    rooms = (
        Room(
            _("Funding"),
            "funding:table1",
            order=80,
            links=(
                Link(_("Contributions by donor (Table 1)"), "funding:table1"),
                Link(_("Funding gap"), "funding:gap"),
                Link(_("Contributions"), "funding:contribution_list"),
                Link(
                    _("Import contributions"),
                    "funding:import",
                    allowed="coopmatrix.funding.importers:may_import",
                ),
                Link(_("Funding needs"), "funding:need_list"),
                Link(_("Funds"), "funding:fund_list"),
                Link(_("Exchange rates"), "funding:rate_list"),
            ),
        ),
    )
    reference = "coopmatrix.funding.reference:LOADER"
    visibility_rows = "coopmatrix.funding.tests.visibility"
    importers = {"contributions": "coopmatrix.funding.importers:import_file"}
    exports = ("funding:contribution_export",)

    def ready(self) -> None:
        super().ready()
        from coopmatrix.exchange.importers import records_written

        from . import signals  # noqa: F401 - connects the receivers
        from .iati import on_records_written

        records_written.connect(on_records_written, dispatch_uid="funding-from-iati")
        post_migrate.connect(_count_again_unconverted, sender=self)


def _count_again_unconverted(sender: Any, **kwargs: Any) -> None:
    """After a migration, sums kept by an earlier version with contributions that had no rate are
    brought to this one's way (sums.count_again_unconverted)."""
    from .sums import count_again_unconverted

    count_again_unconverted()

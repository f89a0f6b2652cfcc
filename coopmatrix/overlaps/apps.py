from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.registry import DomainApp, Link, Room


class OverlapsConfig(DomainApp):
    default = True
    name = "coopmatrix.overlaps"
    label = "overlaps"
    verbose_name = "Overlap and gaps"
    urls = "coopmatrix.overlaps.urls"
    api = "coopmatrix.overlaps.api:router"
    rooms = (
        Room(
            _("Overlap and gaps"),
            "overlaps:queue",
            order=15,
            links=(
                Link(_("Possible overlaps"), "overlaps:queue"),
                Link(_("Gaps"), "overlaps:gap_grid"),
                Link(_("Requests waiting"), "overlaps:requests_waiting"),
                Link(_("Not party, no legislative assistance"), "overlaps:treaty_gaps"),
            ),
        ),
    )
    visibility_rows = "coopmatrix.overlaps.tests.visibility"
    panels = {"activity": ("coopmatrix.overlaps.views:activity_panel",)}
    exports = ("overlaps:export", "overlaps:xlsx")

    def ready(self) -> None:
        super().ready()
        from coopmatrix.core.registry import registry

        from . import signals, signatures  # noqa: F401 - connects the receivers
        from .marks import grid_marks
        from .warning import before_saving, before_saving_many

        registry.hooks["before_saving_activity"] = before_saving
        registry.hooks["before_saving_activities"] = before_saving_many
        registry.hooks["grid_marks"] = grid_marks
        # Activities written without signals (the synthetic generator) get their signatures.
        registry.hooks["activities_written_in_bulk"] = signatures.save
        post_migrate.connect(_pack_the_unpacked, sender=self)


def _pack_the_unpacked(sender, using="default", **kwargs) -> None:
    """After a migration, activities without a current signature get one (an installation from
    before signatures, or a new packing method): the check on save compares with kept ones."""
    from .signatures import pack_missing

    pack_missing()

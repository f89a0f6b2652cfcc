import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from .models import Instrument, TreatyAction


class InstrumentTable(tables.Table):
    short_title = tables.Column(verbose_name=_("Instrument"), linkify=True)
    adopted = tables.Column(verbose_name=_("Adopted"), accessor="adopted_display", order_by="adopted")
    adopted_place = tables.Column(verbose_name=_("Place"))
    entry_into_force = tables.DateColumn(verbose_name=_("In force"), format="Y-m-d")
    depositary = tables.Column(verbose_name=_("Depositary"))
    table2_order = tables.Column(verbose_name=_("Table 2 row"))

    class Meta:
        model = Instrument
        fields = ("short_title", "adopted", "adopted_place", "entry_into_force", "depositary", "table2_order")
        order_by = ("adopted",)


class TreatyActionTable(tables.Table):
    state = tables.Column(verbose_name=_("State"), accessor="state__name_en", order_by="state__name_en")
    instrument = tables.Column(verbose_name=_("Instrument"), accessor="instrument__short_title")
    action = tables.Column(verbose_name=_("Action"), linkify=True)
    deposited = tables.DateColumn(verbose_name=_("Deposited"), format="Y-m-d")
    effective = tables.DateColumn(verbose_name=_("Takes effect"), format="Y-m-d")
    source = tables.Column(verbose_name=_("Source"))

    class Meta:
        model = TreatyAction
        fields = ("state", "instrument", "action", "deposited", "effective", "source")
        order_by = ("-deposited",)

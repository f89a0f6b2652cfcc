import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from .models import State


class StateTable(tables.Table):
    name_en = tables.Column(verbose_name=_("State"), linkify=True)
    code = tables.Column(verbose_name=_("Code"))
    m49 = tables.Column(verbose_name=_("M49"))
    status = tables.Column(verbose_name=_("Status"))
    region = tables.Column(verbose_name=_("Region"), order_by="region__name")
    subregion = tables.Column(verbose_name=_("Sub-region"), order_by="subregion__name")
    intermediate_region = tables.Column(
        verbose_name=_("Intermediate region"), order_by="intermediate_region__name"
    )

    class Meta:
        model = State
        fields = ("name_en", "code", "m49", "status", "region", "subregion", "intermediate_region")
        order_by = ("name_en",)

"""Kept vocabularies that every domain app may use: the matrix's thematic areas (each mapped to an
OECD DAC purpose code), which organizations work on, activities and requests are about.

They sit below the domain apps, so that the directory can name them without depending on the
matrix.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from coopmatrix.core.querysets import VisibleQuerySet


class ThematicArea(models.Model):
    """A controlled term of the matrix, kept by the secretariat, mapped to an OECD DAC purpose code."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    dac_code = models.CharField(_("OECD DAC purpose code"), max_length=5)
    dac_note = models.TextField(_("why this DAC code"), blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    source = models.TextField(_("source"), blank=True)

    objects = VisibleQuerySet.as_manager()
    history = HistoricalRecords(table_name="matrix_historicalthematicarea")

    option_label_fields: ClassVar[tuple[str, ...]] = ("name",)
    option_label = staticmethod(str)

    class Meta:
        ordering = ["order", "name"]
        # Kept by the matrix before the vocabularies had an app of their own: same table.
        db_table = "matrix_thematicarea"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("matrix:thematic_area", args=[self.code])

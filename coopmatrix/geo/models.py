"""States, territories and UN M49 regions: reference data, public to everyone."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from coopmatrix.core.dates import Precision, format_partial
from coopmatrix.core.querysets import VisibleQuerySet

UN_LANGUAGES = ("en", "fr", "es", "ru", "zh", "ar")


class Region(models.Model):
    """A UN M49 area: region (Africa), sub-region (Sub-Saharan Africa) or intermediate region."""

    class Level(models.TextChoices):
        WORLD = "world", _("World")
        REGION = "region", _("Region")
        SUBREGION = "subregion", _("Sub-region")
        INTERMEDIATE = "intermediate", _("Intermediate region")

    m49 = models.PositiveSmallIntegerField(_("M49 code"), unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=12, choices=Level.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    source = models.TextField(_("source"), blank=True)

    objects = VisibleQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["m49"]

    option_label_fields: ClassVar[tuple[str, ...]] = ("name",)
    option_label = staticmethod(str)

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("geo:region", args=[self.m49])

    def states(self) -> models.QuerySet[State]:
        """States placed in this area at any of the three M49 levels."""
        return State.objects.filter(
            models.Q(region=self) | models.Q(subregion=self) | models.Q(intermediate_region=self)
        )


class StateQuerySet(VisibleQuerySet):
    def current(self) -> StateQuerySet:
        return self.exclude(status=State.Status.HISTORIC)

    def resolve(self, text: str) -> State:
        """The State a code or a name stands for; UnknownState names the input and the closest matches."""
        from .resolver import resolve

        return resolve(text)

    def resolve_many(self, text: str) -> list[State]:
        """The States of a list as documents write it ("Benin, Burkina Faso and Burundi")."""
        from .resolver import resolve_many

        return resolve_many(text)


class State(models.Model):
    """A State or territory with its ISO 3166 codes, or a historic State (ISO 3166-3)."""

    class Status(models.TextChoices):
        MEMBER = "member", _("UN Member State")
        OBSERVER = "observer", _("Non-member observer State")
        OTHER_STATE = "other_state", _("Other State, not a UN member")
        TERRITORY = "territory", _("Territory")
        HISTORIC = "historic", _("Historic State")

    code = models.CharField(
        _("code"),
        max_length=4,
        unique=True,
        help_text=_("ISO 3166-1 alpha-3; ISO 3166-3 alpha-4 for historic States."),
    )
    iso2 = models.CharField(_("ISO 3166-1 alpha-2"), max_length=2, blank=True, db_index=True)
    iso3 = models.CharField(_("ISO 3166-1 alpha-3"), max_length=3, blank=True, db_index=True)
    m49 = models.PositiveSmallIntegerField(_("M49 code"), null=True, blank=True, db_index=True)
    name_en = models.CharField(_("name (English)"), max_length=120, db_index=True)
    name_fr = models.CharField(_("name (French)"), max_length=120, blank=True)
    name_es = models.CharField(_("name (Spanish)"), max_length=120, blank=True)
    name_ru = models.CharField(_("name (Russian)"), max_length=120, blank=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=120, blank=True)
    name_ar = models.CharField(_("name (Arabic)"), max_length=120, blank=True)
    formal_name_en = models.CharField(_("formal name (English)"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, db_index=True)
    region = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("region")
    )
    subregion = models.ForeignKey(
        Region,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("sub-region"),
    )
    intermediate_region = models.ForeignKey(
        Region,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("intermediate region"),
    )
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    ended = models.DateField(_("ended"), null=True, blank=True, help_text=_("Withdrawn from ISO 3166-1."))
    ended_precision = models.CharField(max_length=6, choices=Precision.choices, blank=True)
    successors = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="predecessors", verbose_name=_("successor States")
    )
    name_pattern = models.CharField(
        _("name pattern"),
        max_length=200,
        blank=True,
        help_text=_("Regular expression matching common spellings of the name (from the OCHA taxonomy)."),
    )
    note = models.TextField(_("note"), blank=True)
    source = models.TextField(_("source"), blank=True)

    objects = StateQuerySet.as_manager()
    history = HistoricalRecords(m2m_fields=[successors])

    class Meta:
        # Alphabetical as people read it: "the Congo" before "Viet-Nam", whatever the case.
        ordering = [Lower("name_en")]

    #: What a list of options draws a State's name from: its name, and "(historic)" for a State
    #: that no longer exists (records of 2004 name Serbia and Montenegro; a filter must offer it).
    option_label_fields: ClassVar[tuple[str, ...]] = ("name_en", "status")

    def __str__(self) -> str:
        return self.name_en

    def get_absolute_url(self) -> str:
        return reverse("geo:state", args=[self.code])

    @staticmethod
    def option_label(name: str, status: str = "") -> str:
        return f"{name} ({_('historic')})" if status == State.Status.HISTORIC else name

    @property
    def is_historic(self) -> bool:
        return self.status == self.Status.HISTORIC

    @property
    def ended_display(self) -> str:
        return format_partial(self.ended, self.ended_precision)

    def names(self) -> list[tuple[str, str]]:
        """Its name in the six official UN languages, as (language, name)."""
        labels = {
            "en": "English",
            "fr": "Français",
            "es": "Español",
            "ru": "Русский",
            "zh": "中文",
            "ar": "العربية",
        }
        return [(labels[lang], getattr(self, f"name_{lang}")) for lang in UN_LANGUAGES]


class StateAlias(models.Model):
    """Another name by which documents call a State: short, formal, former, or in another language."""

    state = models.ForeignKey(State, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=200)
    normalized = models.CharField(max_length=200, db_index=True)
    kind = models.CharField(max_length=30)
    source = models.TextField(blank=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["state", "normalized"], name="unique_alias_per_state")]
        verbose_name_plural = "State aliases"

    def __str__(self) -> str:
        return f"{self.name} → {self.state}"

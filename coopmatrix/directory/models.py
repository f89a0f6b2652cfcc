"""Organizations (UN bodies, regional organizations, institutes, national agencies) and memberships."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from coopmatrix.core.dates import Precision, format_partial
from coopmatrix.core.models import ConfidentialRecord
from coopmatrix.core.querysets import VisibleQuerySet


def _organization_label(name: str, acronym: str) -> str:
    """How an organization is named in lists and options: "Name (ACRONYM)"."""
    return f"{name} ({acronym})" if acronym else name


class Organization(ConfidentialRecord):
    class Kind(models.TextChoices):
        UN_ENTITY = "un_entity", _("UN entity")
        INTERNATIONAL = "international", _("International organization")
        REGIONAL = "regional", _("Regional organization")
        SUBREGIONAL = "subregional", _("Subregional organization")
        FINANCIAL = "financial", _("Financial institution")
        INSTITUTE = "institute", _("Institute")
        PROFESSIONAL = "professional", _("Professional body")
        NATIONAL_AGENCY = "national_agency", _("National agency")

    code = models.SlugField(_("code"), max_length=40, unique=True, help_text=_("Stable key used by imports."))
    name = models.CharField(_("name"), max_length=250, db_index=True)
    acronym = models.CharField(_("acronym"), max_length=40, blank=True, db_index=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, db_index=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="units",
        verbose_name=_("parent organization"),
    )
    state = models.ForeignKey(
        "geo.State",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="agencies",
        verbose_name=_("State"),
        help_text=_("For a national agency: the State it belongs to."),
    )
    headquarters = models.ForeignKey(
        "geo.State",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("headquarters State"),
    )
    headquarters_city = models.CharField(_("headquarters city"), max_length=100, blank=True)
    website = models.URLField(_("website"), blank=True)

    history = HistoricalRecords()

    # A State's agencies are that State's own records: its focal points read and keep them.
    visibility_state_field: ClassVar[str | None] = "state"

    class Meta:
        ordering = ["name"]

    option_label_fields: ClassVar[tuple[str, ...]] = ("name", "acronym")
    option_label = staticmethod(_organization_label)

    def __str__(self) -> str:
        return _organization_label(self.name, self.acronym)

    def get_absolute_url(self) -> str:
        return reverse("directory:organization", args=[self.code])

    @property
    def label(self) -> str:
        return self.acronym or self.name


class MembershipQuerySet(VisibleQuerySet):
    def as_at(self, day: dt.date) -> MembershipQuerySet:
        """Memberships in effect on `day` (joined on or before it, not yet left)."""
        return self.filter(models.Q(joined__isnull=True) | models.Q(joined__lte=day)).filter(
            models.Q(left__isnull=True) | models.Q(left__gt=day)
        )


class Membership(ConfidentialRecord):
    """A State's membership of an organization, with the dates its source gives."""

    class Kind(models.TextChoices):
        MEMBER = "member", _("Member")
        OBSERVER = "observer", _("Observer")
        PARTNER = "partner", _("Partner")
        DIALOGUE_PARTNER = "dialogue_partner", _("Dialogue partner")

    state = models.ForeignKey("geo.State", on_delete=models.PROTECT, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.MEMBER)
    joined = models.DateField(_("joined"), null=True, blank=True)
    joined_precision = models.CharField(max_length=6, choices=Precision.choices, blank=True)
    left = models.DateField(_("left"), null=True, blank=True, help_text=_("First day no longer a member."))
    left_precision = models.CharField(max_length=6, choices=Precision.choices, blank=True)
    note = models.TextField(_("note"), blank=True)

    objects = MembershipQuerySet.as_manager()  # type: ignore[misc]
    history = HistoricalRecords()

    visibility_requires: ClassVar[tuple[str, ...]] = ("organization",)

    class Meta:
        ordering = ["organization__name", "state__name_en"]
        constraints = [
            models.UniqueConstraint(
                fields=["state", "organization", "kind", "joined"], name="unique_membership"
            )
        ]

    def __str__(self) -> str:
        return f"{self.state} in {self.organization.label}"

    def get_absolute_url(self) -> str:
        return reverse("directory:membership", args=[self.pk])

    @property
    def joined_display(self) -> str:
        return format_partial(self.joined, self.joined_precision)

    @property
    def left_display(self) -> str:
        return format_partial(self.left, self.left_precision)

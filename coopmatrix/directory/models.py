"""Organizations (UN bodies, regional organizations, institutes, national agencies) and memberships."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower, Upper
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from coopmatrix.core.dates import Precision, format_partial
from coopmatrix.core.fields import JSONField
from coopmatrix.core.models import Confidentiality, ConfidentialRecord
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
        # Kinds IATI publishers name among an activity's participants (OrganisationType).
        NGO = "ngo", _("Non-governmental organization")
        FOUNDATION = "foundation", _("Foundation")
        PRIVATE = "private", _("Private sector")
        OTHER = "other", _("Other")

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
    iati_identifier = models.CharField(
        _("IATI organisation identifier"),
        max_length=100,
        blank=True,
        db_index=True,
        help_text=_("As IATI publishers name it, e.g. XM-DAC-41114 or GB-GOV-1; imports match on it."),
    )
    mandate = models.TextField(_("mandate"), blank=True, help_text=_("In a few sentences, with its source."))
    thematic_areas = models.ManyToManyField(
        "vocabulary.ThematicArea", blank=True, related_name="organizations", verbose_name=_("works on")
    )

    history = HistoricalRecords(m2m_fields=[thematic_areas])

    # A State's agencies are that State's own records: its focal points read and keep them.
    visibility_state_field: ClassVar[str | None] = "state"

    class Meta:
        # Alphabetical as people read it: "African Union" before "ASEAN Regional Forum".
        ordering = [Lower("name")]

    option_label_fields: ClassVar[tuple[str, ...]] = ("name", "acronym")
    option_label = staticmethod(_organization_label)

    def __str__(self) -> str:
        return _organization_label(self.name, self.acronym)

    def get_absolute_url(self) -> str:
        return reverse("directory:organization", args=[self.code])

    @property
    def label(self) -> str:
        return self.acronym or self.name


def with_units(ids: Iterable[int]) -> set[int]:
    """The organizations and every unit below them (UNODC includes its Terrorism Prevention
    Branch), from one query of the whole tree."""
    children: dict[int | None, list[int]] = {}
    for pk, parent in Organization.objects.values_list("pk", "parent_id"):
        children.setdefault(parent, []).append(pk)
    found: set[int] = set()
    todo = list(ids)
    while todo:
        pk = todo.pop()
        if pk not in found:
            found.add(pk)
            todo.extend(children.get(pk, []))
    return found


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


class OrganizationName(models.Model):
    """A name an organization went by, with the dates its source gives ("Organization of the
    Islamic Conference" until 28 June 2011). The organization's own `name` is today's."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="former_names")
    name = models.CharField(_("name"), max_length=250)
    acronym = models.CharField(_("acronym"), max_length=40, blank=True)
    used_from = models.DateField(_("used from"), null=True, blank=True)
    used_from_precision = models.CharField(max_length=6, choices=Precision.choices, blank=True)
    used_until = models.DateField(
        _("used until"), null=True, blank=True, help_text=_("First day under the next name.")
    )
    used_until_precision = models.CharField(max_length=6, choices=Precision.choices, blank=True)
    source = models.TextField(_("source"))

    history = HistoricalRecords()

    #: Seen only with the records it hangs on (core.querysets).
    visibility_requires: ClassVar[tuple[str, ...]] = ("organization",)
    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["organization", "used_until"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="unique_former_name")]

    def __str__(self) -> str:
        return _organization_label(self.name, self.acronym)

    @property
    def used_from_display(self) -> str:
        return format_partial(self.used_from, self.used_from_precision)

    @property
    def used_until_display(self) -> str:
        return format_partial(self.used_until, self.used_until_precision)


class MeetingParticipation(models.Model):
    """An organization's part in a meeting of the seeds, recorded only where a source says so."""

    class Meeting(models.TextChoices):
        SPECIAL_2003 = (
            "ctc-special-2003",
            _("Special meeting of the Counter-Terrorism Committee, New York, 6 March 2003"),
        )
        VIENNA_2004 = (
            "vienna-2004",
            _(
                "Follow-up meeting of international, regional and sub-regional organizations, "
                "Vienna, 11–12 March 2004"
            ),
        )

    class Role(models.TextChoices):
        INVITED = "invited", _("invited")
        PARTICIPANT = "participant", _("took part")
        HOST = "host", _("host")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="meetings")
    meeting = models.CharField(_("meeting"), max_length=20, choices=Meeting.choices)
    role = models.CharField(_("role"), max_length=12, choices=Role.choices)
    source = models.TextField(_("source"))

    history = HistoricalRecords()

    #: Seen only with the records it hangs on (core.querysets).
    visibility_requires: ClassVar[tuple[str, ...]] = ("organization",)
    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["meeting", "organization__name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "meeting"], name="unique_meeting_participation")
        ]

    def __str__(self) -> str:
        return f"{self.organization.label}: {self.get_role_display()} ({self.meeting})"


class ContactRole(models.Model):
    """The kept vocabulary of what a contact is for (focal point, central authority …)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    #: Roles a State names for others to reach it: shown first in "who to contact".
    national = models.BooleanField(_("a State's own function"), default=False)
    order = models.PositiveSmallIntegerField(default=0)
    source = models.TextField(_("source"), blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class ContactQuerySet(VisibleQuerySet):
    def stale(self, today: dt.date | None = None) -> ContactQuerySet:
        """Entries not verified within the configured months (or never)."""
        limit = stale_before(today)
        return self.filter(models.Q(verified_on__isnull=True) | models.Q(verified_on__lt=limit))

    def fresh(self, today: dt.date | None = None) -> ContactQuerySet:
        return self.filter(verified_on__gte=stale_before(today))

    def valid_on(self, day: dt.date) -> ContactQuerySet:
        """Entries in use on `day` (no dates: in use)."""
        return self.filter(models.Q(valid_from__isnull=True) | models.Q(valid_from__lte=day)).filter(
            models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=day)
        )


def stale_before(today: dt.date | None = None) -> dt.date:
    """An entry verified before this day is stale (CONTACT_STALE_MONTHS months before today)."""
    from django.conf import settings
    from django.utils import timezone

    today = today or timezone.localdate()
    months = settings.CONTACT_STALE_MONTHS
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    month += 1
    # The same day of the month, or the month's last day (29 February → 28 February).
    return dt.date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


class Contact(ConfidentialRecord):
    """A person or a function to reach an organization or a State agency, and how.

    Restricted by default: personal details are never public unless the entry is marked so.
    """

    #: What identifies a person; removed from the record and its history when erased on request.
    PERSONAL_FIELDS: ClassVar[tuple[str, ...]] = (
        "person_name",
        "email",
        "telephone",
        "fax",
        "postal_address",
        "secure_channel_notes",
        "normalized_name",
        # Says who confirmed: after a verification link, the person's own e-mail address.
        "verified_by",
    )

    confidentiality = models.CharField(
        _("confidentiality"),
        max_length=12,
        choices=Confidentiality.choices,
        default=Confidentiality.RESTRICTED,
        db_index=True,
    )
    person_name = models.CharField(_("name of the person"), max_length=200, blank=True)
    function = models.CharField(
        _("function"), max_length=250, blank=True, help_text=_('e.g. "Head, Terrorism Prevention Branch"')
    )
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contacts",
        verbose_name=_("organization or State agency"),
    )
    state = models.ForeignKey(
        "geo.State",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contacts",
        verbose_name=_("State"),
    )
    roles = models.ManyToManyField(ContactRole, blank=True, related_name="contacts", verbose_name=_("roles"))
    email = models.EmailField(_("e-mail"), blank=True, db_index=True)
    telephone = models.CharField(_("telephone"), max_length=40, blank=True)
    fax = models.CharField(_("fax"), max_length=40, blank=True)
    postal_address = models.TextField(_("postal address"), blank=True)
    secure_channel_notes = models.TextField(_("notes on secure channels"), blank=True)
    languages = models.CharField(
        _("languages"),
        max_length=100,
        blank=True,
        help_text=_("ISO 639 codes separated by spaces, e.g. en fr"),
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    verified_on = models.DateField(_("verified on"), null=True, blank=True, db_index=True)
    verified_by = models.CharField(_("verified by"), max_length=200, blank=True)
    erased_on = models.DateField(_("personal details erased on"), null=True, blank=True)
    #: The name folded for finding duplicates ("Dupont, Jean" = "jean DUPONT").
    normalized_name = models.CharField(max_length=200, blank=True, db_index=True, editable=False)

    objects = ContactQuerySet.as_manager()  # type: ignore[misc]
    history = HistoricalRecords(m2m_fields=[roles])

    # A State's contacts are that State's own records: its focal points read and keep them;
    # an organization's are its own: its users read them and its editors keep them.
    visibility_state_field: ClassVar[str | None] = "state"
    visibility_organization_field: ClassVar[str | None] = "organization"
    visibility_requires: ClassVar[tuple[str, ...]] = ("organization",)

    class Meta:
        ordering = ["organization__name", "function", "person_name"]
        indexes = [
            # An entry is matched by its e-mail whatever the case (`email__iexact`, which
            # PostgreSQL compares as UPPER): each row of a directory import looks its address
            # up, which without this index read every entry, more of them with each row written.
            models.Index(Upper("email"), name="contact_email_any_case"),
        ]

    def __str__(self) -> str:
        who = self.person_name or self.function or _("(erased)")
        organization, state = self.organization, self.state
        where = organization.label if organization else (str(state) if state else "")
        return f"{who}, {where}" if where else str(who)

    def get_absolute_url(self) -> str:
        return reverse("directory:contact", args=[self.pk])

    def save(self, *args, **kwargs) -> None:
        from .contacts import normalize_name

        self.normalized_name = normalize_name(self.person_name)
        super().save(*args, **kwargs)

    @property
    def is_stale(self) -> bool:
        return self.verified_on is None or self.verified_on < stale_before()

    @property
    def in_use(self) -> bool:
        from django.utils import timezone

        today = timezone.localdate()
        return (self.valid_from is None or self.valid_from <= today) and (
            self.valid_to is None or self.valid_to >= today
        )

    @property
    def language_list(self) -> list[str]:
        return self.languages.split()


class Verification(models.Model):
    """A signed, expiring, single-use link sent to check one entry or a whole organization's."""

    class Outcome(models.TextChoices):
        CONFIRMED = "confirmed", _("confirmed")
        CORRECTED = "corrected", _("corrections proposed")

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="verifications"
    )
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="verifications"
    )
    sent_to = models.EmailField(_("sent to"))
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent = models.DateTimeField(_("sent"), auto_now_add=True)
    expires = models.DateTimeField(_("expires"))
    used = models.DateTimeField(_("used"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    #: sha256 of the link's secret: the link itself is never stored.
    digest = models.CharField(max_length=64, unique=True)

    history = HistoricalRecords()

    #: Seen only with the records it hangs on (core.querysets).
    visibility_requires: ClassVar[tuple[str, ...]] = ("contact", "organization")
    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-sent"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(contact__isnull=False) | models.Q(organization__isnull=False),
                name="verification_of_a_contact_or_an_organization",
            )
        ]

    def __str__(self) -> str:
        return f"verification sent to {self.sent_to} on {self.sent:%Y-%m-%d}"


class Correction(models.Model):
    """Changes to an entry proposed through a verification link, waiting for the secretariat."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for approval")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    verification = models.ForeignKey(Verification, on_delete=models.CASCADE, related_name="corrections")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="corrections")
    #: {field: proposed value}, only the fields that differ from the entry when proposed.
    proposed = JSONField(default=dict)
    note = models.TextField(_("note from the contact"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    created = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    #: Seen only with the records it hangs on (core.querysets).
    visibility_requires: ClassVar[tuple[str, ...]] = ("contact",)
    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"correction of {self.contact_id} ({self.status})"


class ContactExport(models.Model):
    """Who exported which contacts, when and how: personal data leaves a trace."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    when = models.DateTimeField(auto_now_add=True)
    format = models.CharField(max_length=8)
    filters = models.TextField(blank=True)
    count = models.PositiveIntegerField()
    contact_ids = JSONField(default=list)

    class Meta:
        ordering = ["-when"]

    def __str__(self) -> str:
        return f"{self.count} contacts as {self.format} on {self.when:%Y-%m-%d}"

"""The assistance matrix: who gives which assistance, where, when, for whom; and requests for it.

"A Matrix of Joint Activities, a comprehensive compilation of the assistance offers and programs"
(Vienna Declaration, paragraph 2); "the Committee directs requests for assistance from countries
to UNODC" (report of 17 March 2004, paragraph 57).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from coopmatrix.core.dates import Precision, format_partial, partial_text
from coopmatrix.core.fields import JSONField
from coopmatrix.core.models import ConfidentialRecord
from coopmatrix.core.querysets import VisibleQuerySet
from coopmatrix.vocabulary.models import ThematicArea


def _precision(verbose: Any) -> models.CharField:
    return models.CharField(verbose, max_length=6, choices=Precision.choices, blank=True)


class Programme(ConfidentialRecord):
    """A programme or project under which activities are delivered."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="projects",
        verbose_name=_("part of programme"),
    )
    organization = models.ForeignKey(
        "directory.Organization",
        on_delete=models.PROTECT,
        related_name="programmes",
        verbose_name=_("managed by"),
    )
    start = models.DateField(_("start"), null=True, blank=True)
    start_precision = _precision(_("start precision"))
    end = models.DateField(_("end"), null=True, blank=True)
    end_precision = _precision(_("end precision"))
    funding_need = models.DecimalField(
        _("funding needed"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3, blank=True)

    history = HistoricalRecords()

    visibility_requires: ClassVar[tuple[str, ...]] = ("organization",)

    class Meta:
        ordering = ["title"]

    option_label_fields: ClassVar[tuple[str, ...]] = ("title",)
    option_label = staticmethod(str)

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("matrix:programme", args=[self.code])

    @property
    def start_display(self) -> str:
        return format_partial(self.start, self.start_precision)

    @property
    def end_display(self) -> str:
        return format_partial(self.end, self.end_precision)


class Activity(ConfidentialRecord):
    """One line of the matrix: an assistance activity, planned or delivered."""

    class Modality(models.TextChoices):
        LEGISLATIVE_ADVICE = "legislative_advice", _("Legislative advice")
        WORKSHOP = "workshop", _("Workshop or seminar")
        TRAINING = "training", _("Training")
        ADVISORY_MISSION = "advisory_mission", _("Advisory mission")
        STUDY_TOUR = "study_tour", _("Study tour")
        MENTORSHIP = "mentorship", _("Mentorship")
        EQUIPMENT = "equipment", _("Equipment")
        ELEARNING = "elearning", _("E-learning")
        TOOL = "tool", _("Tool or publication")
        MEETING = "meeting", _("Expert or coordination meeting")

    class Status(models.TextChoices):
        # Codes follow IATI's ActivityStatus where one exists (1 pipeline … 6 suspended).
        PIPELINE = "pipeline", _("Pipeline")
        PLANNED = "planned", _("Planned")
        ONGOING = "ongoing", _("Ongoing")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        SUSPENDED = "suspended", _("Suspended")

    external_id = models.CharField(
        _("external identifier"),
        max_length=150,
        unique=True,
        null=True,
        blank=True,
        help_text=_("IATI-style identifier; imports match on it."),
    )
    title = models.CharField(_("title"), max_length=400)
    description = models.TextField(_("description"), blank=True)
    programme = models.ForeignKey(
        Programme,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="activities",
        verbose_name=_("programme or project"),
    )
    providers = models.ManyToManyField(  # type: ignore[var-annotated]
        "directory.Organization",
        through="ActivityProvider",
        related_name="activities",
        verbose_name=_("providers"),
    )
    recipient_states = models.ManyToManyField(
        "geo.State", blank=True, related_name="activities", verbose_name=_("recipient States")
    )
    recipient_regions = models.ManyToManyField(
        "geo.Region", blank=True, related_name="activities", verbose_name=_("recipient regions")
    )
    thematic_areas = models.ManyToManyField(ThematicArea, blank=True, related_name="activities")
    instruments = models.ManyToManyField("treaties.Instrument", blank=True, related_name="activities")
    modality = models.CharField(
        _("modality"),
        max_length=20,
        choices=Modality.choices,
        db_index=True,
        # Empty only for activities read from IATI, which has no modality: none is guessed.
        blank=True,
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, db_index=True)
    planned_start = models.DateField(_("planned start"), null=True, blank=True)
    planned_start_precision = _precision(_("planned start precision"))
    planned_end = models.DateField(_("planned end"), null=True, blank=True)
    planned_end_precision = _precision(_("planned end precision"))
    actual_start = models.DateField(_("actual start"), null=True, blank=True)
    actual_start_precision = _precision(_("actual start precision"))
    actual_end = models.DateField(_("actual end"), null=True, blank=True)
    actual_end_precision = _precision(_("actual end precision"))
    # The period the activity covers, for filters: actual dates where known, else planned ones,
    # widened to the last day a month or year may stand for. Kept by save(); never typed in.
    period_start = models.DateField(null=True, blank=True, editable=False, db_index=True)
    period_end = models.DateField(null=True, blank=True, editable=False, db_index=True)
    budget = models.DecimalField(_("budget"), max_digits=16, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    people_trained = models.PositiveIntegerField(_("people trained"), null=True, blank=True)
    outcome_documents = models.TextField(_("outcome documents"), blank=True)
    requests = models.ManyToManyField(  # type: ignore[var-annotated]
        "Request", blank=True, related_name="answered_by", verbose_name=_("requests it answers")
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    # Every link is kept in history too, so that what an activity answered or named can be seen
    # as it stood at any date. Versions are found by record and moment (`id`, `history_date`:
    # core.history, the monthly matrix), then filtered: an index of these fields, written for
    # every version an import keeps, served no query.
    history = HistoricalRecords(
        m2m_fields=[recipient_states, recipient_regions, thematic_areas, instruments, requests],
        no_db_index=[
            "confidentiality",
            "owner",
            "external_id",
            "programme",
            "modality",
            "status",
            "period_start",
            "period_end",
        ],
    )

    class Meta:
        ordering = ["-period_start", "title"]
        verbose_name_plural = "activities"
        indexes = [models.Index(fields=["status", "period_start", "period_end"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("matrix:activity", args=[self.pk])

    def save(self, *args, **kwargs) -> None:
        self.period_start, self.period_end = self.covered_period()
        super().save(*args, **kwargs)

    def covered_period(self) -> tuple:
        from coopmatrix.core.dates import PartialDate

        start = self.actual_start or self.planned_start
        end = self.actual_end or self.planned_end
        end_precision = self.actual_end_precision if self.actual_end else self.planned_end_precision
        if end is not None:
            end = PartialDate(end, end_precision or Precision.DAY).last_day
        return start, end

    def date_display(self, which: str) -> str:
        return format_partial(getattr(self, which), getattr(self, f"{which}_precision"))

    #: Statuses that say the work is still to come or under way.
    ACTIVE_STATUSES: ClassVar[tuple[str, ...]] = ("pipeline", "planned", "ongoing")

    def past_its_end(self, on: dt.date | None = None) -> bool:
        """Still recorded as pipeline, planned or ongoing, though its own dates ended before `on`
        (today): the status was not confirmed since, and a view of work under way leaves it out."""
        return self.ended_unconfirmed(self.status, self.period_end, on or timezone.localdate())

    @classmethod
    def ended_unconfirmed(cls, status: str, period_end: dt.date | None, on: dt.date) -> bool:
        """past_its_end, from the two values it reads (the API's list reads rows, not records)."""
        return status in cls.ACTIVE_STATUSES and period_end is not None and period_end < on

    @property
    def status_display_now(self) -> str:
        """The status as a reader should take it today: "Ongoing (its dates ended 2004-12)"."""
        shown = str(self.get_status_display())
        if not self.past_its_end():
            return shown
        ended = self.date_display("actual_end") or self.date_display("planned_end")
        return str(_("%(status)s, not confirmed: its dates ended %(end)s") % {"status": shown, "end": ended})

    DATE_FIELDS: ClassVar[tuple[str, ...]] = ("planned_start", "planned_end", "actual_start", "actual_end")
    #: Each date with its precision, as rows read them.
    DATE_COLUMNS: ClassVar[tuple[str, ...]] = tuple(
        name for date in DATE_FIELDS for name in (date, f"{date}_precision")
    )

    def date_text(self, which: str) -> str:
        """The date as it is typed and read back (see partial_text)."""
        return partial_text(getattr(self, which), getattr(self, f"{which}_precision"))

    def _span(self, kind: str) -> str:
        start, end = self.date_display(f"{kind}_start"), self.date_display(f"{kind}_end")
        if not (start or end):
            return ""
        return f"{start or '…'} – {end or '…'}"

    @property
    def planned_display(self) -> str:
        return self._span("planned")

    @property
    def actual_display(self) -> str:
        return self._span("actual")


def under_way_q(on: dt.date) -> models.Q:
    """Activities to come or under way on `on`: recorded so, and their dates not ended before it.
    An activity of 2003 still recorded as ongoing is not under way in 2026."""
    return models.Q(status__in=Activity.ACTIVE_STATUSES) & (
        models.Q(period_end__gte=on) | models.Q(period_end__isnull=True)
    )


def past_its_end_q(on: dt.date) -> models.Q:
    """Activities recorded as to come or under way whose own dates ended before `on`."""
    return models.Q(status__in=Activity.ACTIVE_STATUSES, period_end__lt=on)


class ActivityReach(models.Model):
    """Every State an activity reaches: its recipient States and the States of its recipient regions.

    Derived from the recipients (kept by `update_reach`, never edited), so that filters, counts
    and the map ask one indexed table which States an activity reaches.
    """

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="reach")
    state = models.ForeignKey("geo.State", on_delete=models.CASCADE, related_name="+")
    direct = models.BooleanField(default=True, help_text="Named as a recipient, not through a region.")

    #: Seen only with the records it hangs on (core.querysets).
    visibility_requires: ClassVar[tuple[str, ...]] = ("activity",)
    objects = VisibleQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["activity", "state"], name="unique_reach")]
        indexes = [models.Index(fields=["state", "activity"])]

    def __str__(self) -> str:
        return f"{self.activity_id} reaches {self.state_id}"


def update_reach(activity: Activity) -> None:
    """Recompute which States `activity` reaches after its recipients changed."""
    from coopmatrix.geo.models import State

    direct = set(activity.recipient_states.values_list("pk", flat=True))
    regions = list(activity.recipient_regions.values_list("pk", flat=True))
    through_regions = set()
    if regions:
        # "Countries in Central America" are its States, not the territories M49 places there
        # (Bouvet Island sits in South America): a region reaches States only.
        through_regions = set(
            State.objects.filter(
                status__in=[State.Status.MEMBER, State.Status.OBSERVER, State.Status.OTHER_STATE]
            )
            .filter(
                models.Q(region__in=regions)
                | models.Q(subregion__in=regions)
                | models.Q(intermediate_region__in=regions)
            )
            .values_list("pk", flat=True)
        )
    wanted = {pk: pk in direct for pk in direct | through_regions}
    have = dict(ActivityReach.objects.filter(activity=activity).values_list("state_id", "direct"))
    if have == wanted:
        return
    ActivityReach.objects.filter(activity=activity).delete()
    ActivityReach.objects.bulk_create(
        ActivityReach(activity=activity, state_id=pk, direct=is_direct) for pk, is_direct in wanted.items()
    )
    from . import counts

    counts.changed([activity.pk])


class ActivityProvider(models.Model):
    """An organization's part in an activity, in IATI's organisation roles."""

    class Role(models.TextChoices):
        FUNDING = "funding", _("Funding")
        IMPLEMENTING = "implementing", _("Implementing")
        PARTNER = "partner", _("Partner")
        # IATI's other two roles, as its publishers give them.
        ACCOUNTABLE = "accountable", _("Accountable")
        EXTENDING = "extending", _("Extending")

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="provider_roles")
    organization = models.ForeignKey("directory.Organization", on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("role"), max_length=12, choices=Role.choices)

    # Versions are read by record, moment and activity (the monthly matrix), not by organization.
    history = HistoricalRecords(no_db_index=["organization"])

    #: Seen only with the records it hangs on (core.querysets).
    visibility_requires: ClassVar[tuple[str, ...]] = ("activity", "organization")
    objects = VisibleQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["activity", "organization", "role"], name="unique_provider_role")
        ]

    def __str__(self) -> str:
        return f"{self.organization.label} ({self.get_role_display()})"


class RequestQuerySet(VisibleQuerySet):
    def with_answer_state(self, user: Any, today: dt.date | None = None) -> RequestQuerySet:
        """Annotate `unanswered`: still open, received over REQUEST_UNANSWERED_DAYS ago, and no
        activity the user may see answers it (a hidden answer is not disclosed by the flag)."""
        today = today or timezone.localdate()
        cutoff = today - dt.timedelta(days=settings.REQUEST_UNANSWERED_DAYS)
        answers = Activity.objects.visible_to(user).filter(requests=models.OuterRef("pk"))
        flag = (
            models.Q(status__in=Request.OPEN_STATUSES)
            & models.Q(received__lte=cutoff)
            & ~models.Exists(answers)
        )
        return self.annotate(unanswered=models.ExpressionWrapper(flag, output_field=models.BooleanField()))


class Request(ConfidentialRecord):
    """A State's request for assistance, referred to providers and followed to completion."""

    class Channel(models.TextChoices):
        COMMITTEE = "committee", _("Referred by the Counter-Terrorism Committee")
        DIRECT = "direct", _("Direct to a provider")
        ORGANIZATION = "organization", _("Through a regional organization")

    class Priority(models.TextChoices):
        HIGH = "high", _("High")
        NORMAL = "normal", _("Normal")
        LOW = "low", _("Low")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        REFERRED = "referred", _("Referred")
        ACCEPTED = "accepted", _("Accepted")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        DECLINED = "declined", _("Declined")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    state = models.ForeignKey(
        "geo.State", on_delete=models.PROTECT, related_name="requests", verbose_name=_("requesting State")
    )
    on_behalf_of = models.ForeignKey(
        "directory.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("submitted on its behalf by"),
    )
    received = models.DateField(_("received"))
    received_precision = _precision(_("received precision"))
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    thematic_areas = models.ManyToManyField(ThematicArea, blank=True, related_name="requests")
    instruments = models.ManyToManyField("treaties.Instrument", blank=True, related_name="requests")
    priority = models.CharField(
        _("priority"), max_length=6, choices=Priority.choices, default=Priority.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.RECEIVED, db_index=True
    )
    status_changed = models.DateField(_("status changed on"), null=True, blank=True)

    history = HistoricalRecords(m2m_fields=[thematic_areas, instruments])
    objects: ClassVar[Any] = RequestQuerySet.as_manager()

    visibility_state_field: ClassVar[str | None] = "state"
    #: Statuses in which a request still waits for assistance.
    OPEN_STATUSES: ClassVar[tuple[str, ...]] = ("received", "referred", "accepted", "in_progress")

    class Meta:
        ordering = ["-received", "title"]

    def __str__(self) -> str:
        return f"{self.state}: {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("matrix:request", args=[self.pk])

    @property
    def received_text(self) -> str:
        return partial_text(self.received, self.received_precision)


class Referral(models.Model):
    """A request passed to one provider, with its answer."""

    class Response(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="referrals")
    provider = models.ForeignKey("directory.Organization", on_delete=models.PROTECT, related_name="referrals")
    referred_on = models.DateField(_("referred on"))
    response = models.CharField(
        _("response"), max_length=10, choices=Response.choices, default=Response.PENDING
    )
    responded_on = models.DateField(_("responded on"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    history = HistoricalRecords()

    #: Seen only with the records it hangs on (core.querysets).
    visibility_requires: ClassVar[tuple[str, ...]] = ("request", "provider")
    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["referred_on"]
        constraints = [
            models.UniqueConstraint(fields=["request", "provider"], name="one_referral_per_provider")
        ]

    def __str__(self) -> str:
        return f"{self.request} → {self.provider.label}"


class MonthlyMatrixSubscription(models.Model):
    """A user who receives the monthly matrix by e-mail, built with what that user may see."""

    class By(models.TextChoices):
        COUNTRY = "country", _("per country")
        SUBREGION = "subregion", _("per sub-region")
        REGION = "region", _("per region")

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"
        XLSX = "xlsx", "XLSX"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="matrix_subscriptions"
    )
    by = models.CharField(_("grouped"), max_length=10, choices=By.choices, default=By.COUNTRY)
    format = models.CharField(_("format"), max_length=4, choices=Format.choices, default=Format.PDF)
    last_sent_month = models.DateField(_("last month sent"), null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "by", "format"], name="one_subscription_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.user} – monthly matrix {self.get_by_display()} ({self.format})"


class GridCount(models.Model):
    """How many activities fall in one cell of the grid, for one combination of the filters it serves.

    Derived (kept by `coopmatrix.matrix.counts`, never edited), so that the grid of counts reads a
    few thousand summary rows instead of joining a million activities with their States and areas.
    `owner_id` is 0 for records that are not confidential: only confidential ones depend on it.
    """

    rows_by = models.CharField(max_length=16)
    row_id = models.BigIntegerField()
    cols_by = models.CharField(max_length=16)
    col_id = models.BigIntegerField()
    status = models.CharField(max_length=20)
    modality = models.CharField(max_length=30)
    confidentiality = models.CharField(max_length=12)
    owner_id = models.BigIntegerField()
    n = models.IntegerField(default=0)

    class Meta:
        # Ordered as the grid asks: one layout, what the reader may see (public and restricted
        # records, then one owner's confidential ones), some statuses, some rows.
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "rows_by",
                    "cols_by",
                    "confidentiality",
                    "owner_id",
                    "status",
                    "row_id",
                    "col_id",
                    "modality",
                ],
                name="unique_grid_count",
            )
        ]

    def __str__(self) -> str:
        return f"{self.rows_by} {self.row_id} × {self.cols_by} {self.col_id}: {self.n}"


class CountedActivity(models.Model):
    """What an activity last added to the grid counts, so that any change is counted as a difference.

    Kept beside the activity rather than on it: an activity's history should not record it.
    """

    activity_id = models.BigIntegerField(primary_key=True)
    counted_as = JSONField(default=dict)

    def __str__(self) -> str:
        return f"activity {self.activity_id} counted"

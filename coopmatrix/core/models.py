"""Fields every domain record shares: confidentiality, owner organization, source, sharing.

The rule that reads them is in `querysets.py`; nothing else decides who sees a record.
"""

from __future__ import annotations

import zlib
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from coopmatrix.core.fields import JSONField

from .querysets import VisibleQuerySet


class Confidentiality(models.TextChoices):
    PUBLIC = "public", _("Public")
    RESTRICTED = "restricted", _("Restricted")
    CONFIDENTIAL = "confidential", _("Confidential")


#: Confidentiality levels from least to most protected, for "the highest level inside" an export.
CONFIDENTIALITY_ORDER = [Confidentiality.PUBLIC, Confidentiality.RESTRICTED, Confidentiality.CONFIDENTIAL]


class ConfidentialRecord(models.Model):
    """A domain record: who may see it, who owns it, and where its facts come from.

    public: everyone, also anonymous visitors and the public API;
    restricted: any signed-in user;
    confidential: the owner organization's users, the organizations and States it is shared with
    (see Share), and the secretariat.
    """

    confidentiality = models.CharField(
        _("confidentiality"),
        max_length=12,
        choices=Confidentiality.choices,
        default=Confidentiality.PUBLIC,
        db_index=True,
    )
    owner = models.ForeignKey(
        settings.COOPMATRIX_ORGANIZATION_MODEL,
        verbose_name=_("owner organization"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The organization that keeps this record; its editors may change it."),
    )
    source = models.TextField(
        _("source"), blank=True, help_text=_("Document and paragraph, or data file, the facts come from.")
    )

    objects = VisibleQuerySet.as_manager()

    #: Name of a ForeignKey to geo.State whose focal points may read and edit the record,
    #: for records that belong to a State (its requests, its reports). None: no such field.
    visibility_state_field: ClassVar[str | None] = None
    #: Name of a ForeignKey to directory.Organization whose users may read and edit the record,
    #: for records that describe an organization (its contacts). None: no such field.
    visibility_organization_field: ClassVar[str | None] = None
    #: ForeignKeys to records this one cannot be seen without (a membership needs its organization).
    #: The related model must not itself require this one, or the rule would recurse.
    visibility_requires: ClassVar[tuple[str, ...]] = ()

    class Meta:
        abstract = True


class Share(models.Model):
    """A confidential record shared with one organization or one State.

    One table for every model, so that the visibility rule is one query shape and so that
    the history of sharing (who could see what, when) is kept like any other record.
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.BigIntegerField(db_index=True)
    organization = models.ForeignKey(
        settings.COOPMATRIX_ORGANIZATION_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="shares",
    )
    state = models.ForeignKey(
        settings.COOPMATRIX_STATE_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="shares",
    )
    created = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(organization__isnull=False, state__isnull=True)
                    | models.Q(organization__isnull=True, state__isnull=False)
                ),
                name="share_with_one_organization_or_one_state",
            ),
            models.UniqueConstraint(
                fields=["content_type", "object_id", "organization"], name="unique_share_organization"
            ),
            models.UniqueConstraint(fields=["content_type", "object_id", "state"], name="unique_share_state"),
        ]

    def __str__(self) -> str:
        return f"{self.content_type.model} {self.object_id} shared with {self.organization or self.state}"


class PendingImport(models.Model):
    """An uploaded file between its preview and its confirmation; removed once imported."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    filename = models.CharField(max_length=255)
    content = models.BinaryField()
    #: Whether `content` is zlib-compressed: a 10 MB CSV kept as 1-2 MB costs the database and
    #: its driver's copies (PostgreSQL's bytea is sent as hex, twice the size) far less memory.
    compressed = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    #: What the file holds ("activities", "treaty_actions"), and how to read it (JSON).
    kind = models.CharField(max_length=20)
    options = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.filename} ({self.user})"

    @classmethod
    def keep(cls, user: Any, filename: str, content: bytes, kind: str, options: str) -> PendingImport:
        packed = zlib.compress(content, level=6)
        return cls.objects.create(
            user=user, filename=filename, content=packed, compressed=True, kind=kind, options=options
        )

    def file(self) -> bytes:
        data = bytes(self.content)
        return zlib.decompress(data) if self.compressed else data


class SavedView(models.Model):
    """A list as a user filtered it, kept under a name to find it again; with a subscription,
    an e-mail when what it lists changes (at most daily, `coopmatrix send_view_digests`).

    Only the address is kept (path and query): the records are found again through the
    visibility rule of the day, so a view never shows what its owner may no longer see."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(_("name"), max_length=100)
    path = models.CharField(max_length=200)
    query = models.TextField(blank=True)
    subscribed = models.BooleanField(_("e-mail me when its results change"), default=False)
    created = models.DateTimeField(auto_now_add=True)
    #: What the results were when last looked at or sent (a digest of their keys and changes).
    fingerprint = models.CharField(max_length=64, blank=True)
    last_count = models.PositiveIntegerField(null=True, blank=True)
    last_sent = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="unique_saved_view_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def url(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")


class Job(models.Model):
    """A long piece of work done by a worker (core/jobs.py): an import, an export, a mailing.

    Its user follows it on "My jobs"; only they see it. The worker writes its progress and a
    heartbeat; a job whose heartbeat stops (its worker was killed) is retried or failed by
    another worker, never left running."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting for a worker")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Done")
        FAILED = "failed", _("Failed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    kind = models.CharField(max_length=40)
    label = models.CharField(_("job"), max_length=200)
    payload = JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    phase = models.CharField(max_length=100, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(null=True, blank=True)
    #: What happened, in words: the import's counts, or why it failed.
    message = models.TextField(blank=True)
    #: The error report, one error per line (row, column, value, reason).
    errors = models.TextField(blank=True)
    result = models.FileField(upload_to="jobs/%Y/%m/", blank=True)
    result_name = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    task_id = models.CharField(max_length=64, blank=True)
    worker = models.CharField(max_length=64, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-pk"]
        indexes = [models.Index(fields=["status", "heartbeat"], name="job_status_heartbeat")]

    def __str__(self) -> str:
        return self.label

    @property
    def ended(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(100, self.done * 100 // self.total)

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.errors.splitlines() if line]


class ScheduledRun(models.Model):
    """One run of a scheduled job per period: the unique key makes sure that, of all the workers
    that see a job fall due, exactly one starts it."""

    name = models.CharField(max_length=40)
    period = models.CharField(max_length=20)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "period"], name="one_run_per_period")]

    def __str__(self) -> str:
        return f"{self.name} {self.period}"


class DataGeneration(models.Model):
    """One row: a counter that goes up after every committed change of the data (see
    core.public_cache). Cached answers are kept under it, so that none outlives its data."""

    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"data generation {self.value}"

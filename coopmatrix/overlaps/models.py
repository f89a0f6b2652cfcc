"""A possible overlap: two activities of the matrix that may be the same work, with its score,
the reasons a person can check, and the reviewer's verdict.

An overlap has no confidentiality of its own: it is seen only by those who may see both of its
activities (`visibility_requires`, core.querysets). A verdict is kept with its history and is
asked again only when the score moves by more than OVERLAP_REASK_MARGIN since it was given.

The full computation keeps findings, not explanations: a pair it finds is written with its score
and no reasons, and is explained when it is shown (`Overlap.shown_reasons`), from its two
activities as they are. Those are what it was scored from: a change to either checks the pair
again on save. Explaining each of millions of pairs as they were found took most of its time.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models.query import ModelIterable
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from coopmatrix.core.fields import JSONField
from coopmatrix.core.querysets import VisibleQuerySet

#: Pairs drawn together are explained together (one description of their activities).
EXPLAINED_TOGETHER = 500


class _Unexplained:
    """Pairs drawn together, of which some have no reasons yet: explained all at once, the first
    time one of them is shown (a read that never shows them, such as a save, pays nothing)."""

    def __init__(self, overlaps: list[Overlap]) -> None:
        self.overlaps = overlaps

    def explain(self) -> None:
        from .describe import describe
        from .engine import reasons_of, weights
        from .scoring import score

        waiting = [o for o in self.overlaps if not o.reasons]
        described = describe({pk for o in waiting for pk in (o.first_id, o.second_id)})
        for overlap in waiting:
            a, b = described.get(overlap.first_id), described.get(overlap.second_id)
            overlap._shown = reasons_of(score(a, b, weights())) if a and b else []
        self.overlaps = []


class _DrawnIterable(ModelIterable):
    """Pairs as read from the database, those without reasons marked to be explained together."""

    def __iter__(self) -> Iterator[Any]:
        rows = super().__iter__()
        while chunk := list(islice(rows, EXPLAINED_TOGETHER)):
            waiting = _Unexplained(chunk)
            for overlap in chunk:
                overlap._unexplained = waiting
            yield from chunk


class OverlapQuerySet(VisibleQuerySet):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._iterable_class = _DrawnIterable


class Overlap(models.Model):
    class Verdict(models.TextChoices):
        DUPLICATE = "duplicate", _("Duplicate")
        COMPLEMENTARY = "complementary", _("Complementary")
        JOINT = "joint", _("Joint: the same work recorded by each partner")
        UNRELATED = "unrelated", _("Unrelated")

    #: The activity with the lower key comes first, so that a pair is kept once.
    #: (Looked up by the index of the pair, which starts with it: no index of its own.)
    first = models.ForeignKey("matrix.Activity", on_delete=models.CASCADE, related_name="+", db_index=False)
    second = models.ForeignKey("matrix.Activity", on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(_("score"))
    #: [{part, value, weight, words}], one per part of the score (overlaps.scoring.Reason); empty
    #: for a pair the full computation found, explained when shown (`shown_reasons`).
    #: The database's own defaults (db_default) of the fields a new pair of the full computation
    #: never sets: its COPY leaves them out (batch.COPY_COLUMNS), as each field of each of millions
    #: of rows costs the server a receive (six fields of ten: 4.3-4.5 s against 5.9-6.0 s, 5.8
    #: million rows). The defaults in Python stay as they were for everything else.
    reasons = JSONField(_("reasons"), default=list, db_default=models.Value([], models.JSONField()))
    found = models.DateTimeField(_("found"), auto_now_add=True)
    scored = models.DateTimeField(_("scored"), auto_now=True)
    verdict = models.CharField(
        _("verdict"), max_length=14, choices=Verdict.choices, blank=True, default="", db_default=""
    )
    comment = models.TextField(_("comment"), blank=True, default="", db_default="")
    #: Indexed only where set (Meta.indexes): a user deleted finds their verdicts by it.
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    #: The score when the verdict was given: a verdict is asked again when the score moves away.
    verdict_score = models.FloatField(null=True, blank=True)
    #: No verdict yet, or the score moved since: the queue's "not yet reviewed".
    to_review = models.BooleanField(_("to review"), default=True, db_default=True)

    # A pair's history is read by the pair (its key): the history rows need no index of the
    # activities or the reviewer, which a full computation would otherwise keep up to date for
    # each of millions of rows.
    history = HistoricalRecords(no_db_index=["first", "second", "reviewed_by"])

    visibility_requires: ClassVar[tuple[str, ...]] = ("first", "second")
    objects = OverlapQuerySet.as_manager()

    class Meta:
        ordering = ["-score", "first_id", "second_id"]
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="one_overlap_per_pair"),
            models.CheckConstraint(
                condition=models.Q(first__lt=models.F("second")), name="overlap_pair_ordered"
            ),
        ]
        indexes = [
            # The queue's order, read from the index: its first page reads fifty entries, where
            # an index of the score alone left the rest of the order to a sort of every pair.
            models.Index(fields=["-score", "first", "second"], name="overlaps_rank"),
            # Those given a verdict, in the queue's order: a few, where the machine finds millions
            # to review. "Not yet reviewed" reads the order above and passes over the reviewed
            # ones; an index of every pair by "to review" was the slowest to make again after a
            # first computation (6.3 s of its 51 s writing, 5.8 million pairs).
            models.Index(
                fields=["-score", "first", "second"],
                condition=models.Q(to_review=False),
                name="overlaps_reviewed_rank",
            ),
            # The pairs a reviewer gave a verdict on: a few, where the machine finds millions with
            # none (an index of every pair would be made again over them all after each first
            # computation).
            models.Index(
                fields=["reviewed_by"],
                condition=models.Q(reviewed_by__isnull=False),
                name="overlaps_reviewed_by",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first} ↔ {self.second}"

    def get_absolute_url(self) -> str:
        return reverse("overlaps:overlap", args=[self.pk])

    def other(self, activity_id: int) -> int:
        return self.second_id if self.first_id == activity_id else self.first_id

    @property
    def confidentiality(self) -> str:
        """A pair is as confidential as the more confidential of its two activities (an export's
        cover names the highest level it holds)."""
        from coopmatrix.core.models import CONFIDENTIALITY_ORDER

        return max(self.first.confidentiality, self.second.confidentiality, key=CONFIDENTIALITY_ORDER.index)

    @property
    def shown_reasons(self) -> list[dict[str, Any]]:
        """Its reasons as kept, or, for a pair the full computation found, as its two activities
        give them now (with the other pairs drawn with it)."""
        if self.reasons:
            return self.reasons
        if not hasattr(self, "_shown"):
            (getattr(self, "_unexplained", None) or _Unexplained([self])).explain()
        return self._shown

    def reason_rows(self) -> list[dict[str, Any]]:
        return [{**r, "points": r["value"] * r["weight"]} for r in self.shown_reasons]

    def explanation(self) -> list[str]:
        return [
            f"{r['words']} — {r['value']:.2f} × {r['weight']:.2f} = {r['value'] * r['weight']:.2f}"
            for r in self.shown_reasons
        ]

    def drawn(self) -> str:
        """What the page was drawn from: a verdict on a pair that changed since is asked again."""
        return f"{self.score:.4f}"

    @staticmethod
    def needs_review(verdict: str, verdict_score: Any, score: float) -> bool:
        if not verdict or verdict_score is None:
            return True
        return abs(score - verdict_score) > settings.OVERLAP_REASK_MARGIN


class Signature(models.Model):
    """What the score reads of one activity, packed small and kept beside it (overlaps.signatures):
    the check on every save reads one row per candidate instead of five joins, and the full
    computation reads a million of them without reading a title again. Derived, never edited:
    rebuilt whenever its activity changes, and by `coopmatrix find_overlaps`."""

    activity = models.OneToOneField(
        "matrix.Activity", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    #: How it was packed (overlaps.signatures.METHOD): rows of an older method are packed again.
    method = models.PositiveSmallIntegerField()
    #: Bit masks (little-endian bytes) by key: the States the activity reaches (named or through a
    #: region), its thematic areas, its instruments; its text's trigram fingerprint.
    states = models.BinaryField()
    areas = models.BinaryField()
    instruments = models.BinaryField()
    text = models.BinaryField()
    #: Its providers' codes, sorted, space-separated: only compared whole.
    providers = models.TextField()
    programme = models.CharField(max_length=100, null=True)
    modality = models.CharField(max_length=30)
    #: The activity's period (period_start, period_end); no end while under way.
    start = models.DateField(null=True, db_index=True)
    end = models.DateField(null=True, db_index=True)

    visibility_requires: ClassVar[tuple[str, ...]] = ("activity",)
    objects = VisibleQuerySet.as_manager()

    def __str__(self) -> str:
        return f"signature of activity {self.activity_id}"


class Block(models.Model):
    """Where an activity's signature is looked up: one row for each State it reaches and each
    thematic area it has, with its period. Two activities can only be candidates when they share
    a State and an area (or an area of the same DAC purpose code, read from the areas when asked,
    so a code given later counts at once), so the check on save reads a few index ranges instead
    of every activity whose period meets.

    `span` is the length class of the period (below 32 × 2**span days; -1 for an activity under
    way): an activity that ends after a day D and is shorter than L starts after D - L, which turns
    "periods that meet" into one bounded range of starts per class."""

    activity = models.ForeignKey("matrix.Activity", on_delete=models.CASCADE, related_name="+")
    state = models.IntegerField()
    area = models.IntegerField()
    span = models.SmallIntegerField()
    start = models.DateField()
    end = models.DateField(null=True)

    visibility_requires: ClassVar[tuple[str, ...]] = ("activity",)
    objects = VisibleQuerySet.as_manager()

    class Meta:
        indexes = [
            # The end and the activity ride in the index (PostgreSQL's INCLUDE; other databases
            # leave it out): a check on save reads its candidates from the index alone, without a
            # visit to each block's row, scattered over the table.
            models.Index(
                fields=["state", "area", "span", "start"],
                include=["end", "activity"],
                name="overlaps_block_lookup",
            )
        ]

    def __str__(self) -> str:
        return f"block of activity {self.activity_id}"

"""Finding and keeping possible overlaps: for one activity on every save, for all at once from
the console (`coopmatrix find_overlaps`).

The candidates of an activity are narrowed in the database first (a State reached in common, an
area or DAC purpose code in common, periods that meet), then scored here (scoring.py). What
scores at least OVERLAP_THRESHOLD is kept as an Overlap; a pair a reviewer gave a verdict on is
kept whatever its score, and asked again when the score moves by more than the margin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from coopmatrix.core import bulk
from coopmatrix.core.collecting import fewer_collections
from coopmatrix.core.committing import once_on_commit
from coopmatrix.core.keysets import Keys
from coopmatrix.matrix.models import Activity

from . import signatures
from .describe import describe
from .models import Overlap, Signature
from .scoring import Candidate, score, unrounded

if TYPE_CHECKING:
    from .batch import Pools


def weights() -> Mapping[str, float]:
    return settings.OVERLAP_WEIGHTS


#: From this many candidates on, a check scores them in arrays (batch.scores_with, the same figures)
#: rather than one by one.
IN_ARRAYS = 300


def strongest(scores: Mapping[int, float], keep: int | None = None) -> list[int]:
    """The activities of the strongest pairs, best first (ties: the lower key)."""
    ranked = sorted(scores, key=lambda pk: (-scores[pk], pk))
    return ranked[: keep or settings.OVERLAP_KEEP]


def scored(activity_id: int, reader: signatures.Reader | None = None, own: Any = None) -> dict[int, float]:
    """Every activity scoring at the threshold with this one, and its score before rounding:
    its signature as it is now (also inside a transaction that will be undone: the warning before
    saving reads it so) against the kept signatures of the others (scoring.quick). `own`: its
    signature, when the caller has just built it from the database as it is."""
    _sign_pending()
    built = [own] if own is not None else signatures.build([activity_id])
    if not built:
        return {}
    reader = reader or signatures.Reader.now()
    packed = reader.of(built[0])
    threshold, weighed = settings.OVERLAP_THRESHOLD, weights()
    rows = signatures.pool_rows(packed, reader)
    if len(rows) >= IN_ARRAYS:
        from . import batch

        own = tuple(getattr(built[0], name) for name in signatures.FIELDS + signatures.PERIOD)
        table = batch.table_of([own, *rows], reader)
        # Its own row comes first (it has a State, an area and a period, or no pool would be).
        assert table.pk[0] == activity_id
        return batch.scores_with(table, 0, dict(weighed), threshold)
    return {
        other.pk: value
        for other in map(reader.packed, rows)
        if (value := unrounded(packed, other, weighed)) is not None and round(value, 4) >= threshold
    }


def explained(activity_id: int, others: Iterable[int]) -> list[Candidate]:
    """The full score of each pair, with its reasons, best first."""
    wanted = list(others)
    described = describe([activity_id, *wanted])
    if activity_id not in described:
        return []
    found = [score(described[activity_id], described[pk], weights()) for pk in wanted if pk in described]
    return sorted(found, key=lambda c: (-c.score, c.a, c.b))


def find_for(activity_id: int, reader: signatures.Reader | None = None) -> list[Candidate]:
    """The strongest candidates of one activity (at most OVERLAP_KEEP), with their reasons."""
    return explained(activity_id, strongest(scored(activity_id, reader)))


def store(activity_id: int, scores: Mapping[int, float]) -> None:
    """`store_many` of one activity."""
    store_many({activity_id: scores})


#: Activities whose pairs are kept at a time (one read of their pairs, one description).
STORE_CHUNK = 500


def store_many(found: Mapping[int, Mapping[int, float]]) -> None:
    """Keep each activity's pairs as found now (`found`: its scores by the other activity): its
    strongest added, the scores of those it has brought up to date; a pair no longer at the
    threshold is dropped unless a reviewer gave a verdict on it. A pair another activity keeps
    among its strongest stays while it scores at the threshold, though it is not among this
    one's strongest. Many activities (an import) are kept together: their pairs read once, their
    activities described once, the new pairs written in bulk with their history rows. The result
    is the one of keeping them one after the other: scores are symmetric, so two activities of
    the batch agree on whether a pair between them stays."""
    ordered = sorted(found)
    for start in range(0, len(ordered), STORE_CHUNK):
        _store_chunk({pk: found[pk] for pk in ordered[start : start + STORE_CHUNK]}, found)


def _store_chunk(
    found: Mapping[int, Mapping[int, float]], everything: Mapping[int, Mapping[int, float]]
) -> None:
    """store_many of a chunk of `everything` (all it was given): a pair is at the threshold when
    either of its two, if given, has the other's score. Bounded (scored_together), an activity
    has only its strongest and its pairs kept before: a pair an earlier chunk kept among its
    other activity's strongest has its score there."""
    ids = list(found)
    kept: dict[tuple[int, int], Overlap] = {
        (o.first_id, o.second_id): o
        for o in Overlap.objects.filter(Q(first_id__in=ids) | Q(second_id__in=ids)).order_by()
    }
    by_activity: dict[int, list[Overlap]] = {}
    for overlap in kept.values():
        for pk in (overlap.first_id, overlap.second_id):
            if pk in found:
                by_activity.setdefault(pk, []).append(overlap)
    wanted: set[tuple[int, int]] = set()
    for pk, scores in found.items():
        others = set(strongest(scores)) | {
            o.other(pk)
            for o in by_activity.get(pk, [])
            if o.verdict or o.other(pk) in scores or pk in everything.get(o.other(pk), {})
        }
        wanted |= {(min(pk, other), max(pk, other)) for other in others}
    # Most activities have no candidate: nothing to explain (a query saved on each of thousands).
    # Read from their signatures, as the full computation reads them: they were just signed (the
    # callers sign first), and each text's fingerprint is the one kept, not made again from the
    # text (0.6 s of the check of 2,000 template rows' 7.6 s).
    described = (
        signatures.described(
            {pk for pair in wanted for pk in pair}, signatures.Codes.now(), signatures.open_end()
        )
        if wanted
        else {}
    )
    new: list[tuple[Any, ...]] = []
    for first, second in sorted(wanted):
        if first not in described or second not in described:
            continue  # gone since it was scored: its pairs go with it
        # Explained in the pair's order (first, second), as a pair the full computation found is
        # when shown: "modality workshop / seminar" reads in the order the pair's page names them.
        candidate = score(described[first], described[second], weights())
        overlap = kept.pop((first, second), None)
        if overlap is None:
            new.append((first, second, candidate.score, reasons_of(candidate), True))
        else:
            _keep(overlap, candidate)
    # Rows of values, not model objects (core.bulk): an import of 20,000 template rows makes some
    # 16,000 pairs.
    bulk.values_with_history(Overlap, NEW_PAIR, new, None, None, timezone.now())
    for overlap in kept.values():
        if not overlap.verdict:
            overlap.delete()


#: The fields of a new pair as _store_chunk gives them, in its order.
NEW_PAIR = ("first_id", "second_id", "score", "reasons", "to_review")


def reasons_of(candidate: Candidate) -> list[dict[str, Any]]:
    return [
        {"part": r.part, "value": round(r.value, 4), "weight": r.weight, "words": r.words}
        for r in candidate.reasons
    ]


def _keep(overlap: Overlap, candidate: Candidate) -> None:
    reasons = reasons_of(candidate)
    to_review = Overlap.needs_review(overlap.verdict, overlap.verdict_score, candidate.score)
    if (overlap.score, overlap.reasons, overlap.to_review) == (candidate.score, reasons, to_review):
        return  # unchanged: no history row
    overlap.score, overlap.reasons, overlap.to_review = candidate.score, reasons, to_review
    overlap.save()


# An import's check, on its commit, scores thousands of activities against hundreds of candidates
# each: with the collector at Python's pace, 2,000 synthetic template rows' check took 15.7-20.0 s,
# against 14.2-14.7 s.
@fewer_collections()
def refresh(activity_ids: Iterable[int] | np.ndarray, signed: bool = False) -> None:
    """Find and keep the pairs of these activities (those deleted lose theirs with them).
    `signed`: an import's activities were just signed (`sign`), and are not signed again."""
    ordered = _ordered(activity_ids)
    # Signed here: not again by _sign_pending (an import's thousands were built twice).
    _pending("_overlaps_unsigned").difference_update(ordered)
    if ordered.size <= STORE_CHUNK:
        # A save, or a few: the signatures just built are scored, not read back.
        ids = ordered.tolist()
        existing = set(Activity.objects.filter(pk__in=ids).values_list("pk", flat=True))
        built = {s.activity_id: s for s in signatures.save(sorted(existing))}
        _sign_pending()
        _score_and_store(sorted(existing), signatures.Reader.now(), built)
        return
    # An import's thousands: all signed first (each is a candidate of the others), then scored a
    # group at a time with its signatures read back, none held for the whole import (for a
    # million activities they took more memory than the import itself).
    if not signed:
        sign(ordered)
    reader = signatures.Reader.now()
    from . import batch

    for start in range(0, ordered.size, SCORE_GROUP):
        # What the import, and each group before, freed goes back to the system first: the
        # allocator kept it, and each group's pools and pairs came on top. In the check of a
        # million imported activities, the importing process held 245 MB, 184 MB once trimmed,
        # and had peaked at 316 MB (a trim takes some 2 ms).
        batch.give_back_memory()
        part = ordered[start : start + SCORE_GROUP].tolist()
        # A deleted activity has no signature left (signatures.save): its pairs went with it.
        built = {s.activity_id: s for s in Signature.objects.filter(activity_id__in=part)}
        _score_and_store(sorted(built), reader, built)


def _ordered(activity_ids: Iterable[int] | np.ndarray) -> np.ndarray:
    return np.unique(
        np.asarray(
            activity_ids if isinstance(activity_ids, np.ndarray) else list(activity_ids), dtype=np.int64
        )
    )


@fewer_collections()
def sign(activity_ids: Iterable[int] | np.ndarray) -> None:
    """Sign these activities (and any other changed and not yet signed), a chunk at a time."""
    ordered = _ordered(activity_ids)
    _pending("_overlaps_unsigned").difference_update(ordered)
    for start in range(0, ordered.size, signatures.SAVE_CHUNK):
        signatures.save(ordered[start : start + signatures.SAVE_CHUNK].tolist())
    _sign_pending()


#: Activities of an import whose check is scored at once (their signatures held, their pairs found
#: kept): the more at once, the fewer times a candidate they share is read (scored_together).
SCORE_GROUP = 2000


def _score_and_store(existing: list[int], reader: signatures.Reader, built: Mapping[int, Any]) -> None:
    if len(existing) >= TOGETHER:
        store_many(scored_together(existing, reader, built, bounded=True))
    else:
        store_many({pk: scored(pk, reader, built.get(pk)) for pk in existing})


#: From this many activities on, a check scores them together (scored_together).
TOGETHER = 20


def scored_together(
    activity_ids: Sequence[int],
    reader: signatures.Reader,
    built: Mapping[int, Any],
    bounded: bool = False,
) -> dict[int, dict[int, float]]:
    """`scored` of many activities at once (an import's), by activity: their pools read
    signatures.POOLS_AT_ONCE activities a query and gathered up to PAIRS_AT_ONCE pairs, then the
    gathered pools' candidates' signatures read in key order, each once, CANDIDATES_AT_ONCE at a
    time, and every pair scored in arrays. One after the other, each activity's candidates were
    read on their own: some 30 ms an activity of hundreds of candidates, their signatures
    scattered over the table's pages. `built`: the signatures just built of those that have one.
    `bounded`: of each activity's scores, only those store_many reads: its OVERLAP_KEEP
    strongest, and those of its pairs kept now (a kept pair stays while it scores at the
    threshold). Memory then no longer grows with the pairs at the threshold (batch.Reached)."""
    from . import batch

    ids = list(activity_ids)
    keep, also = (settings.OVERLAP_KEEP, _kept_pair_keys(ids)) if bounded else (None, None)
    missing = [pk for pk in ids if pk not in built]
    made = {signature.activity_id: signature for signature in signatures.build(missing)} if missing else {}
    own = [reader.of(built.get(pk) or made[pk]) for pk in ids if pk in built or pk in made]
    found: dict[int, dict[int, float]] = {pk: {} for pk in ids}
    for pools in _by_pairs(signatures.pools_by_batch(own, reader), PAIRS_AT_ONCE):
        found.update(
            batch.scores_of_pools(
                pools,
                lambda keys: batch.table_of(signatures.rows_of(keys), reader),
                dict(weights()),
                settings.OVERLAP_THRESHOLD,
                CANDIDATES_AT_ONCE,
                keep,
                also,
            )
        )
    return found


def _kept_pair_keys(activity_ids: Sequence[int]) -> np.ndarray:
    """The pairs kept now of these activities, as batch._pair_key's, sorted. Read before they
    are scored: a pair another transaction's check keeps meanwhile, and that is among neither
    activity's strongest here, is dropped, as a pair is whose score changed after it was read
    (the next check of either finds it again)."""
    from .batch import _pair_key

    firsts: list[int] = []
    seconds: list[int] = []
    for start in range(0, len(activity_ids), STORE_CHUNK):
        part = activity_ids[start : start + STORE_CHUNK]
        for first, second in (
            Overlap.objects.filter(Q(first_id__in=part) | Q(second_id__in=part))
            .order_by()
            .values_list("first_id", "second_id")
        ):
            firsts.append(first)
            seconds.append(second)
    return np.unique(_pair_key(np.array(firsts, dtype=np.int64), np.array(seconds, dtype=np.int64)))


def _by_pairs(batches: Iterable[Mapping[int, np.ndarray]], most: int) -> Iterator[Pools]:
    """The pools of `batches` that are not empty, gathered until they hold some `most` pairs (one
    batch more at most), as batch.Pools: the candidates of all are then read once."""
    from .batch import Pools

    gathered: list[tuple[int, np.ndarray]] = []
    pairs = 0
    for pools in batches:
        for pk, others in pools.items():
            if len(others):
                gathered.append((pk, others))
                pairs += len(others)
        if pairs >= most:
            # The lists go before the pools are scored: only their arrays are held (memory).
            together = Pools.of(gathered)
            gathered, pairs = [], 0
            yield together
    if gathered:
        yield Pools.of(gathered)


#: Candidates whose signatures scored_together holds at once, besides its own activities'
#: (memory: some 300 bytes each, read and in arrays; 500 activities of a dense matrix have some
#: 280,000 candidates, many shared).
CANDIDATES_AT_ONCE = 50_000
#: Pairs whose pools scored_together gathers before it reads their candidates (memory: some 12
#: bytes each in scores_of_pools' arrays, 8 more while they are gathered). The activities of an
#: import of a dense matrix have some 900 candidates each, those of 2,000 of them 590,000
#: different ones: in pools of 500, over a million were read.
PAIRS_AT_ONCE = 2_000_000


# --- on every save, whichever door it comes through (signals.py) ---------------------------------


def changed(activity_ids: Iterable[int]) -> None:
    """An activity changed: check it once the transaction that changed it commits (an activity
    is saved, then its States and areas are set: it is checked whole, once)."""
    ids = {pk for pk in activity_ids if pk is not None}
    if not connection.in_atomic_block:
        refresh(ids)
        return
    # The callback checks every activity noted. One of an undone savepoint is dropped by Django;
    # its activities stay noted and are checked (if they still exist) at the next commit.
    _pending().update(ids)
    _pending("_overlaps_unsigned").update(ids)
    once_on_commit(_flush, robust=True)


def _pending(name: str = "_overlaps_pending") -> Keys:
    """The activities changed and not yet checked (or signed): an import of a million notes a
    million, so they are kept as keysets.Keys, some 8 bytes each."""
    pending: Keys | None = getattr(connection, name, None)
    if pending is None:
        pending = Keys()
        setattr(connection, name, pending)
    return pending


def _sign_pending() -> None:
    """Activities changed in this transaction and not yet checked get their signature now: a
    check made before the commit (the warning, an import of several rows) compares with them as
    they are, not as they were."""
    unsigned = _pending("_overlaps_unsigned")
    if unsigned:
        ids = unsigned.sorted()
        unsigned.clear()
        for start in range(0, len(ids), signatures.SAVE_CHUNK):
            signatures.save(ids[start : start + signatures.SAVE_CHUNK].tolist())


def _flush() -> None:
    pending = _pending()
    ids = pending.sorted()
    pending.clear()
    if ids.size >= SIGNED_APART:
        # Their blocks committed and the table vacuumed, the candidates' blocks are read from the
        # index alone. Written in the check's own transaction, each was read from its row: the
        # visibility map that tells the index alone is enough is set by VACUUM only, which
        # autovacuum runs after a fifth of the table is new (a million blocks in the benchmark's
        # database). The check of 5,000 activities imported took 6.5 s so, 4.0 s after VACUUM.
        # Keys checked as written: an import of a million writes millions of signatures, blocks
        # and pairs, each key's check otherwise held by the server until the commit.
        with transaction.atomic(), bulk.keys_checked_as_written():
            sign(ids)
        signatures.vacuum_blocks()
        with transaction.atomic(), bulk.keys_checked_as_written():
            refresh(ids, signed=True)
    elif ids.size:
        with transaction.atomic():
            refresh(ids)


#: From this many activities changed on (an import), their check on commit signs them in a
#: transaction of its own, then has the blocks' table vacuumed, before it scores them.
SIGNED_APART = 1000


@fewer_collections()
def find_all(
    progress: Callable[[str, int, int], Any] | None = None, budget_seconds: float | None = None
) -> dict[str, int]:
    """Every pair again, all activities at once (batch.py); pairs no longer found and never
    reviewed go. Safe to run again: pairs are kept by their two activities. With
    `budget_seconds` (the benchmark), the search stops after that long, keeps what it found and
    drops nothing."""
    from . import batch

    signatures.pack_missing(
        progress=(lambda done, total: progress("signatures", done, total)) if progress else None
    )
    table = batch.load(signatures.Reader.now())
    best, finished = batch.search(
        table,
        progress=(lambda done, total: progress("pairs", done, total)) if progress else None,
        budget=budget_seconds,
    )
    keys = table.pk
    del table  # the arrays go before the pairs are gathered, explained and written (memory)
    found = best.pairs(keys)
    del best
    batch.give_back_memory()
    written = batch.write(found, drop_others=finished, progress=progress)
    activities = len(keys)
    return {"activities": activities, "pairs": len(found), "finished": int(finished), **written}

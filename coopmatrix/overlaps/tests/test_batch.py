"""The full computation (batch.py, in arrays) and the check on every save (engine.scored, one
activity against the kept signatures) must keep the same pairs with the same scores: a pair kept
at one door and not at the other would come and go in the queue as records are saved."""

import datetime as dt
import gc
import inspect
import random
from collections import Counter

import numpy as np
import pytest
from django.db import connection
from django.db.models import Max, Min
from django.utils import timezone

from coopmatrix.core import collecting
from coopmatrix.directory.models import Organization
from coopmatrix.geo.models import State
from coopmatrix.matrix import counts
from coopmatrix.matrix.actions import CleanActivity
from coopmatrix.matrix.bulk import create_activities
from coopmatrix.matrix.models import Activity
from coopmatrix.overlaps import engine, signatures
from coopmatrix.overlaps.models import Overlap, Signature
from coopmatrix.treaties.models import Instrument
from coopmatrix.vocabulary.models import ThematicArea

TITLES = [
    "Workshop on the financing of terrorism for prosecutors",
    "Atelier sur le financement du terrorisme pour les magistrats",
    "Taller sobre la financiación del terrorismo",
    "Training course on border control for customs officers",
    "Legislative assistance on the universal instruments against terrorism",
    "Expert mission on aviation security",
]


@pytest.fixture
def matrix(cast):
    """A dense little matrix drawn at random (the same every run): a few States, areas (two under
    one DAC purpose code), providers, instruments and months, so that most activities have several
    candidates and the cap on each one's strongest bites."""
    rng = random.Random(2024)
    states = list(State.objects.filter(code__in=["BEN", "TGO", "NER", "MLI"]))
    areas = [
        ThematicArea.objects.create(code=f"bt-{i}", name=f"BT area {i}", dac_code=dac)
        for i, dac in enumerate(["15210", "15210", "15130"])
    ]
    organizations = [
        cast.org_a,
        cast.org_b,
        Organization.objects.exclude(pk__in=[cast.org_a.pk, cast.org_b.pk]).first(),
    ]
    instruments = list(Instrument.objects.order_by("pk")[:3])
    items = []
    for index in range(90):
        start = dt.date(2010, 1, 1) + dt.timedelta(days=rng.randrange(0, 700))
        fields = {
            "title": f"BT {rng.choice(TITLES)}",
            "description": rng.choice(["", "with the national authorities"]),
            "modality": rng.choice(["workshop", "training", "advisory_mission"]),
            "status": "completed",
            "planned_start": start,
            "planned_end": start + dt.timedelta(days=rng.randrange(0, 300)),
            "confidentiality": "public",
            "owner": cast.org_a,
            "external_id": f"BT-{index}",
        }
        providers = [(o, "implementing") for o in rng.sample(organizations, rng.randint(1, 2))]
        items.append(
            CleanActivity(
                fields=fields,
                programme=None,
                providers=providers,
                states=rng.sample(states, rng.randint(1, 3)),
                regions=[],
                themes=rng.sample(areas, rng.randint(1, 2)),
                instruments=rng.sample(instruments, rng.choice([0, 0, 1, 2])),
            )
        )
    # Written as an import writes them (each one saved, then each link set, took 4 s), the
    # grid's counts following once at the end.
    with counts.batch():
        made = [activity.pk for activity in create_activities(items, None, "made for tests")]
    signatures.save(made)
    return made


def _stored(pk):
    return {
        o.other(pk): o.score
        for o in Overlap.objects.filter(first_id=pk) | Overlap.objects.filter(second_id=pk)
    }


def test_the_full_computation_keeps_each_activitys_strongest_as_the_check_on_save_finds_them(
    matrix, settings, django_assert_max_num_queries
):
    settings.OVERLAP_KEEP = 3
    Overlap.objects.all().delete()
    result = engine.find_all()
    assert result["finished"] == 1
    union = set()
    capped = 0
    for pk in matrix:
        scores = engine.scored(pk)
        strongest = engine.strongest(scores)
        capped += len(scores) > 3
        union |= {tuple(sorted((pk, other))) for other in strongest}
        stored = _stored(pk)
        # Its strongest are kept; what is kept for it scores at the threshold, with the same figure.
        assert set(strongest) <= set(stored), pk
        assert {other: round(scores[other], 4) for other in stored} == stored, pk
    assert capped >= 10  # the cap was reached by many, so the union is not every pair
    kept = {
        (o.first_id, o.second_id) for o in Overlap.objects.filter(first_id__in=matrix, second_id__in=matrix)
    }
    assert kept == union
    # The full computation keeps findings, not explanations: each pair is explained when shown,
    # those drawn together at once, with the reasons a check of the pair gives, adding up to its
    # score.
    drawn = list(Overlap.objects.filter(first_id__in=matrix)[:20])
    assert all(overlap.reasons == [] for overlap in drawn)
    with django_assert_max_num_queries(6):
        shown = [overlap.shown_reasons for overlap in drawn]
    for overlap, reasons in zip(drawn, shown, strict=True):
        total = sum(r["weight"] for r in reasons)
        assert round(sum(r["value"] * r["weight"] for r in reasons) / total, 2) == round(overlap.score, 2)
        (checked,) = engine.explained(overlap.first_id, [overlap.second_id])
        assert reasons == engine.reasons_of(checked)
        assert Overlap.objects.get(pk=overlap.pk).shown_reasons == reasons  # drawn alone, the same
    # Each pair written once, with its history row: added, to review, by no one, with its score.
    added = Overlap.history.filter(first_id__in=matrix)
    assert added.count() == len(kept)
    assert set(added.values_list("id", "first_id", "second_id", "score", "history_type", "to_review")) == {
        (o.pk, o.first_id, o.second_id, o.score, "+", True)
        for o in Overlap.objects.filter(first_id__in=matrix)
    }
    assert not added.exclude(history_user=None).exists()


def test_signatures_describe_activities_as_describe_does(matrix):
    """The full computation and the check on save explain their pairs from the signatures (no
    joins); a pair's page from the activities (engine.explained): the same description of each,
    to the fingerprint."""
    from dataclasses import replace

    from coopmatrix.overlaps.describe import describe

    reader = signatures.Reader.now()
    under_way = Activity.objects.get(pk=matrix[0])
    under_way.planned_end, under_way.status = None, "ongoing"
    under_way.save()
    signatures.save([under_way.pk])  # the test's transaction never commits: packed by hand
    fast = signatures.described(matrix, signatures.Codes.now(), reader.open_end)
    slow = describe(matrix)
    assert fast.keys() == slow.keys() == set(matrix)
    for pk in matrix:
        assert replace(fast[pk], text_bits=None) == slow[pk], pk
        assert fast[pk].fingerprint == slow[pk].fingerprint
    assert slow[matrix[0]].end == reader.open_end
    # On both databases describe reads the activities in one query of its own: the ORM's rows, to
    # the code.
    from coopmatrix.matrix.models import Programme
    from coopmatrix.overlaps import describe as module

    programme = Programme.objects.create(
        code="bt-programme",
        title="BT programme",
        organization=Organization.objects.order_by("pk").first(),
    )
    Activity.objects.filter(pk=matrix[1]).update(programme=programme)

    def rows(found):
        return sorted((*row[:7], *(frozenset(codes) - {None} for codes in row[7:])) for row in found)

    written = signatures.activity_rows(module._describe_sql, matrix)
    assert rows(written) == rows(module._rows_orm(matrix))
    assert any(row[3] == "bt-programme" for row in written)
    assert all(isinstance(row[5], dt.date) for row in written)  # dates, not their text
    # And the signature of an activity saved is built in one query: the ORM's, to the byte.
    fields = [*signatures.FIELDS, *signatures.PERIOD, "method"]

    def signed(found):
        return sorted(
            tuple(bytes(v) if isinstance(v, memoryview) else v for v in (getattr(s, f) for f in fields))
            for s in found
        )

    by_orm = [signatures._signature(*row) for row in signatures._build_rows_orm(matrix)]
    assert signed(signatures.build(matrix)) == signed(by_orm)
    assert any(s.programme == "bt-programme" for s in by_orm)


def test_a_second_full_computation_changes_nothing_and_a_stale_signature_is_packed_again(matrix):
    engine.find_all()
    before = set(Overlap.objects.values_list("first_id", "second_id", "score"))
    Signature.objects.filter(activity_id=matrix[0]).update(method=0)
    Signature.objects.filter(activity_id=matrix[1]).delete()
    again = engine.find_all()
    assert (again["added"], again["changed"], again["dropped"]) == (0, 0, 0)
    assert set(Overlap.objects.values_list("first_id", "second_id", "score")) == before
    assert Signature.objects.filter(activity_id__in=matrix[:2], method=signatures.METHOD).count() == 2


def test_with_every_signature_packed_the_search_for_missing_ones_is_one_count(
    matrix, django_assert_num_queries
):
    signatures.pack_missing()
    with django_assert_num_queries(1):
        assert signatures.pack_missing() == 0
    Signature.objects.filter(activity_id=matrix[0]).update(method=0)
    Signature.objects.filter(activity_id=matrix[1]).delete()
    assert signatures.pack_missing() == 2
    assert Signature.objects.filter(activity_id__in=matrix[:2], method=signatures.METHOD).count() == 2


def test_the_pairs_of_an_activity_deleted_after_the_search_are_not_written(matrix):
    """An activity deleted between the search and the write (the search takes a while) takes its
    pairs with it: the others are written, and no pair names a missing activity, the one with
    the largest key among them."""
    from coopmatrix.overlaps import batch

    Overlap.objects.all().delete()
    found, finished = batch.strongest(batch.load(signatures.Reader.now()))
    assert finished
    pairs = list(zip((found.keys >> 32).tolist(), (found.keys & 0xFFFFFFFF).tolist(), strict=True))
    involved = {pk for pair in pairs for pk in pair}
    gone = {min(involved), max(involved)}
    assert max(involved) == Activity.objects.order_by("-pk").values_list("pk", flat=True).first()
    Activity.objects.filter(pk__in=gone).delete()
    result = batch.write(found)
    kept = [pair for pair in pairs if not gone & set(pair)]
    assert 0 < result["added"] == len(kept) < len(pairs)
    assert sorted(Overlap.objects.values_list("first_id", "second_id")) == sorted(kept)


def _same_table(read, expected) -> None:
    """Two tables of signatures alike: every column equal, groups and modalities numbered apart in
    the same places (their numbers are only compared with each other)."""
    import dataclasses

    for column in dataclasses.fields(expected):
        got, want = getattr(read, column.name), getattr(expected, column.name)
        assert got.dtype == want.dtype and got.shape == want.shape, column.name
        if column.name in ("group", "modality"):
            # Equal where equal: as many different (read, expected) pairs as different values of each.
            pairs = len(set(zip(got.tolist(), want.tolist(), strict=True)))
            assert pairs == len(set(got.tolist())) == len(set(want.tolist())), column.name
            assert ((got < 0) == (want < 0)).all(), column.name
        else:
            assert (got == want).all(), column.name


def test_the_full_computation_reads_each_signature_as_the_rows_read_one_by_one_give_it(
    matrix, cast, monkeypatch
):
    """The full computation reads a million signatures at once (on PostgreSQL, each as one value
    of fixed width, its group and modality as hashes): the same table as the rows read one by one,
    for an activity under way, one without a modality, one without a start (left out), the same
    providers with and without a programme. Where two groups' or two modalities' hashes meet, or
    a mask was saved wider since the widths were read, the rows are read one by one: the same
    table again."""
    from coopmatrix.matrix.models import Programme
    from coopmatrix.overlaps import batch

    GROUP_HASH, MODALITY_HASH = batch.GROUP_HASH, batch.MODALITY_HASH
    programme = Programme.objects.create(code="bt-programme", title="BT programme", organization=cast.org_a)
    first, second, third, fourth = Activity.objects.filter(pk__in=matrix).order_by("pk")[:4]
    first.status, first.planned_end = "ongoing", None
    second.modality = ""
    third.planned_start = third.planned_end = None
    fourth.programme = programme
    for activity in (first, second, third, fourth):
        activity.save()
    signatures.save([first.pk, second.pk, third.pk, fourth.pk])
    rows = Signature.objects.values_list(*signatures.FIELDS, *signatures.PERIOD).order_by("activity_id")
    by_pk = {row[0]: row for row in rows}
    assert by_pk[first.pk][-1] is None and by_pk[second.pk][7] == "" and by_pk[third.pk][-2] is None
    assert by_pk[fourth.pk][6] == "bt-programme"
    assert any(row[5] == by_pk[fourth.pk][5] and row[6] is None for row in by_pk.values())
    assert max(len(row[1]) for row in by_pk.values()) > 8  # the States' masks: more than a word
    reader = signatures.Reader.now()
    expected = batch.table_of(list(rows), reader)
    assert third.pk not in expected.pk and first.pk in expected.pk
    assert expected.end[expected.pk == first.pk][0] == reader.open_end.toordinal()
    assert expected.modality[expected.pk == second.pk][0] == -1
    _same_table(batch.load(reader), expected)

    one_by_one = []
    table_of = batch.table_of
    monkeypatch.setattr(batch, "table_of", lambda *args: one_by_one.append(1) or table_of(*args))
    monkeypatch.setattr(batch, "GROUP_HASH", "length(s.providers)::int8")
    _same_table(batch.load(reader), expected)
    assert one_by_one == [1]
    monkeypatch.setattr(batch, "GROUP_HASH", GROUP_HASH)
    # "workshop" and "training" (and no modality, 0) by their length.
    monkeypatch.setattr(batch, "MODALITY_HASH", "length(s.modality)::int8")
    _same_table(batch.load(reader), expected)
    assert one_by_one == [1, 1]
    monkeypatch.setattr(batch, "MODALITY_HASH", MODALITY_HASH)
    narrower = batch._shapes

    def read_before_a_wider_mask(table):
        lengths, *rest = narrower(table)
        return (1, *lengths[1:]), *rest

    monkeypatch.setattr(batch, "_shapes", read_before_a_wider_mask)
    _same_table(batch.load(reader), expected)
    assert one_by_one == [1, 1, 1]


def _table_definitions() -> list[str]:
    """The indexes and constraints of the pairs' table and its history."""
    from coopmatrix.core.testing import table_definitions

    return table_definitions(Overlap._meta.db_table, Overlap.history.model._meta.db_table)


def test_a_first_full_computation_leaves_the_tables_indexed_and_constrained_as_before(matrix):
    """A write that at least doubles the pairs (a first computation) sets the tables' indexes and
    constraints aside and makes them again: the same definitions after, and they hold."""
    from django.db import IntegrityError, connection, transaction

    before = _table_definitions()
    assert any("one_overlap_per_pair" in d for d in before)
    Overlap.objects.all().delete()
    Overlap.history.all().delete()
    started = timezone.now()
    result = engine.find_all()
    assert result["added"] == Overlap.objects.count() > 50
    assert Overlap.history.filter(history_type="+").count() == result["added"]
    # Each history row names its pair by the pair's key.
    fields = ("id", "first_id", "second_id", "score")
    assert set(Overlap.history.values_list(*fields)) == set(Overlap.objects.values_list(*fields))
    assert _table_definitions() == before
    # Each pair as a pair saved by hand would be: found and scored now, no reasons yet, no
    # verdict, to review; its history row made at the same moment, by no one.
    now = timezone.now()
    assert set(Overlap.objects.values_list("verdict", "comment", "to_review")) == {("", "", True)}
    assert set(Overlap.history.values_list("history_type", "history_user")) == {("+", None)}
    for records, moments in ((Overlap.objects, ("found", "scored")), (Overlap.history, ("history_date",))):
        for moment in moments:
            span = records.aggregate(earliest=Min(moment), latest=Max(moment))
            assert started <= span["earliest"] <= span["latest"] <= now, moment
    for records in (Overlap.objects, Overlap.history):
        assert not records.exclude(reasons=[]).exists()
        assert not records.exclude(reviewed_by=None, reviewed_at=None, verdict_score=None).exists()
    pair = Overlap.objects.order_by("pk").first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Overlap.objects.create(first_id=pair.first_id, second_id=pair.second_id, score=0.9)
    missing = Activity.objects.order_by("-pk").first().pk + 1000
    with pytest.raises(IntegrityError), transaction.atomic():
        Overlap.objects.create(first_id=pair.first_id, second_id=missing, score=0.9)
        connection.check_constraints()  # the activities' keys are checked at commit
    # Added again: the pairs a few go missing from are written back, one by one into the indexes
    # this time, with their history; the table as it was. The last keys given go: no key is
    # given twice, since the history of a pair deleted still names it.
    gone = dict(Overlap.objects.order_by("-pk").values_list("pk", "score")[:5])
    kept = set(Overlap.objects.values_list("first_id", "second_id", "score"))
    Overlap.objects.filter(pk__in=gone).delete()
    again = engine.find_all()
    assert (again["added"], again["changed"], again["dropped"]) == (5, 0, 0)
    assert set(Overlap.objects.values_list("first_id", "second_id", "score")) == kept
    assert not Overlap.objects.filter(pk__in=gone).exists()
    assert Overlap.history.filter(history_type="+").count() == result["added"] + 5
    back = Overlap.objects.filter(pk__gt=max(gone))
    assert back.count() == 5
    assert set(Overlap.history.filter(history_type="+", id__gt=max(gone)).values_list(*fields)) == set(
        back.values_list(*fields)
    )
    assert _table_definitions() == before
    # The next pair saved by hand takes the next key (the pairs' keys were given by the computation).
    first, second = Activity.objects.order_by("pk").values_list("pk", flat=True)[:2]
    Overlap.objects.filter(first_id=first, second_id=second).delete()
    top = Overlap.objects.order_by("-pk").values_list("pk", flat=True).first()
    assert Overlap.objects.create(first_id=first, second_id=second, score=0.5).pk > top


def test_signatures_saved_a_few_at_a_time_are_those_saved_at_once(matrix, monkeypatch):
    """An import's activities are signed on its commit a chunk at a time (memory): the same
    signatures and blocks as all at once."""
    from coopmatrix.overlaps.models import Block

    def kept():
        fields = [*signatures.FIELDS, *signatures.PERIOD, "method"]
        rows = Signature.objects.filter(activity_id__in=matrix).order_by("activity_id").values_list(*fields)
        blocks = Block.objects.filter(activity_id__in=matrix).values_list(
            "activity_id", "state", "area", "span", "start", "end"
        )
        signed = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows]
        return signed, sorted(blocks)

    signatures.save(matrix)
    at_once = kept()
    monkeypatch.setattr(signatures, "SAVE_CHUNK", 7)
    Signature.objects.filter(activity_id__in=matrix).delete()
    Block.objects.filter(activity_id__in=matrix).delete()
    saved = signatures.save(matrix)
    assert sorted(s.activity_id for s in saved) == sorted(matrix)
    assert kept() == at_once
    assert len(at_once[0]) == len(matrix) and len(at_once[1]) > len(matrix)


def test_a_dac_code_given_to_two_areas_later_makes_their_activities_candidates_at_once(cast):
    """The blocks are kept by area; the DAC purpose codes are read when a check asks. Two areas
    given one code later make their activities candidates without saving them again."""
    from coopmatrix.overlaps.tests.visibility import activity

    a = activity(cast, "BT workshop one", "public", cast.org_a, cast.org_a)
    b = activity(cast, "BT workshop two", "public", cast.org_b, cast.org_b)
    first = ThematicArea.objects.create(code="bt-first", name="BT first")
    second = ThematicArea.objects.create(code="bt-second", name="BT second")
    a.thematic_areas.set([first])
    b.thematic_areas.set([second])
    signatures.save([a.pk, b.pk])
    assert b.pk not in engine.scored(a.pk)
    ThematicArea.objects.filter(pk__in=[first.pk, second.pk]).update(dac_code="15113")
    assert b.pk in engine.scored(a.pk)
    engine.find_all()
    assert Overlap.objects.filter(first_id=min(a.pk, b.pk), second_id=max(a.pk, b.pk)).exists()


def test_the_strongest_are_the_same_whatever_the_step_the_pairs_are_compared_in(
    matrix, monkeypatch, settings
):
    """The signatures are read in chunks, the sweep cut into pieces (the clock and the bar are
    looked at between; a block of many pairs is cut across its members) swept by several workers,
    and the pairs gathered a slice of activities at a time (memory): chunks of two rows, pieces of
    a few pairs, three workers and slices of three keep the very same pairs as one worker sweeping
    everything in one piece."""
    from coopmatrix.overlaps import batch, sweep

    settings.OVERLAP_KEEP = 3
    table = batch.load(signatures.Reader.now())
    monkeypatch.setattr(batch, "SWEEP_PIECES", 1)
    whole, finished = batch.strongest(table, workers=1)
    monkeypatch.setattr(batch, "CHUNK_ROWS", 2)
    monkeypatch.setattr(batch, "SWEEP_PIECES", 10_000)
    monkeypatch.setattr(batch, "MERGE_ROWS", 3)
    chunked = batch.load(signatures.Reader.now())
    for name, column in vars(table).items():
        # Chunks of two rows may hold narrower masks: the same once widened to the whole's.
        assert np.array_equal(column, getattr(chunked, name)), name
    rows, block_of, starts, _width = batch.blocks(chunked)
    ends = np.r_[starts[1:], len(rows)]
    partners = sweep.reach(chunked.start[rows], chunked.end[rows], starts, ends)
    pieces = batch.plan(partners, starts, ends, block_of[starts])
    # Blocks were cut across their members, and every pair falls in one piece.
    assert len(np.unique(pieces.block)) < len(pieces.block)
    assert sum(int(partners[f:s].sum()) for f, s in zip(pieces.first, pieces.stop, strict=True)) == int(
        partners.sum()
    )
    stepped, _ = batch.strongest(chunked, workers=1)
    assert finished and len(whole) and stepped.as_dict() == whole.as_dict()
    shared, finished = batch.strongest(chunked, workers=3)
    assert finished and shared.as_dict() == whole.as_dict()


def _one_word(masks: np.ndarray) -> np.ndarray:
    """Bit masks (rows of 64-bit words) with the bits any row sets moved down to the lowest, in
    their order: one word when at most 64 are set anywhere."""
    bits = np.unpackbits(np.ascontiguousarray(masks, dtype="<u8").view(np.uint8), axis=1, bitorder="little")
    used = bits[:, bits.any(axis=0)]
    assert used.shape[1] <= 64
    packed = np.packbits(used, axis=1, bitorder="little")
    return (
        np.ascontiguousarray(np.pad(packed, ((0, 0), (0, 8 - packed.shape[1])))).view("<u8").astype(np.uint64)
    )


def test_masks_wider_than_a_word_keep_the_same_pairs(matrix, settings):
    """The sweep's first pass reads a mask of one word; a matrix of more than 64 areas, instruments
    or area keys takes the other way (each such mask taken as wholly in common there, the second
    pass telling): the same pairs as with masks of one word."""
    import dataclasses

    from coopmatrix.overlaps import batch

    settings.OVERLAP_KEEP = 3
    table = batch.load(signatures.Reader.now())
    # An area's bit is its key, and keys given in earlier tests are not given again (PostgreSQL's
    # sequences): the bits in use, renumbered from 0 alike in every row, change no pair.
    table = dataclasses.replace(
        table, **{name: _one_word(getattr(table, name)) for name in ("areas", "instruments")}
    )
    assert table.areas.shape[1] == table.instruments.shape[1] == table.key_words.shape[1] == 1
    narrow, _ = batch.strongest(table, workers=1)
    spare = np.zeros((len(table.pk), 2), dtype=np.uint64)
    wide = dataclasses.replace(
        table,
        **{
            name: np.hstack([getattr(table, name), spare])
            for name in ("states", "areas", "dac", "instruments", "key_words")
        },
    )
    widened, _ = batch.strongest(wide, workers=1)
    assert len(narrow) and widened.as_dict() == narrow.as_dict()


def test_a_worker_that_fails_stops_the_full_computation_before_it_drops_anything(matrix, monkeypatch):
    """A worker's error reaches the command: a search that lost a worker's blocks would otherwise
    find fewer pairs, and the pairs it did not find would be dropped from the queue."""
    from coopmatrix.overlaps import batch, sweep

    engine.find_all()
    kept = Overlap.objects.count()
    assert kept
    calls = []
    compiled = sweep.sweep

    def failing(*args):
        calls.append(1)
        if len(calls) == 2:
            raise MemoryError("the second block of the sweep")
        return compiled(*args)

    monkeypatch.setattr(sweep, "sweep", failing)
    monkeypatch.setattr(batch, "SWEEP_PIECES", 1_000)
    with pytest.raises(MemoryError, match="second block"):
        engine.find_all()
    assert Overlap.objects.count() == kept


@pytest.mark.parametrize("threshold", [0.8, 0.75, 0.5, 0.015625, 0.33333, 0.0, 1.0])
def test_the_cut_decides_as_the_check_rounds(threshold):
    """The compiled sweep keeps a pair when its unrounded score reaches `cut`; the check on save
    when round(score, 4) reaches the threshold: the same pairs, also a hair either side of it."""
    from coopmatrix.overlaps import batch

    cut = batch.cut(threshold)
    rng = random.Random(17)
    near = [threshold + rng.uniform(-2e-4, 2e-4) for _ in range(20_000)]
    edges = [np.nextafter(cut, -np.inf), cut, np.nextafter(cut, np.inf)] if cut > -np.inf else []
    for value in [*near, *map(float, edges)]:
        if value < 0:
            continue
        assert (value >= cut) == (round(value, 4) >= threshold), (threshold, value, cut)
    if cut > 0:
        assert round(cut, 4) >= threshold > round(float(np.nextafter(cut, -np.inf)), 4)


def test_the_full_computation_rounds_scores_as_the_check_does():
    """The full computation rounds its millions of scores in arrays (batch._rounded): each to the
    very float round(score, 4) gives on save, drawn at random, on the halves (0.12345 as read),
    a float either side of each, and 0 and 1."""
    from coopmatrix.overlaps import batch

    rng = np.random.default_rng(5)
    halves = np.array([float(f"0.{n:04d}5") for n in range(10_000)])
    scores = np.concatenate(
        [
            rng.random(200_000),
            rng.integers(0, 10**6, 20_000) / 10**6,
            halves,
            np.nextafter(halves, 0),
            np.nextafter(halves, 1),
            [0.0, 1.0, 0.99995, 0.00005],
        ]
    )
    assert batch._rounded(scores).tolist() == [round(score, 4) for score in scores.tolist()]


def test_a_checks_pool_holds_every_activity_with_a_state_an_area_and_months_in_common(matrix):
    """The pool a check scores, narrowed in the database (by blocks), holds exactly the other
    activities that reach a State in common, have an area in common (or one of the same DAC
    purpose code) and a period that meets; the query written for PostgreSQL or SQLite gives the
    ORM's rows."""
    reader = signatures.Reader.now()
    every = list(Signature.objects.values_list(*signatures.FIELDS, *signatures.PERIOD))
    checked = 0
    for pk in Signature.objects.order_by("activity_id").values_list("activity_id", flat=True):
        packed = reader.of(signatures.build([pk])[0])
        if not (packed.states and packed.areas and packed.start):
            continue
        areas = {bit for bit in range(packed.areas.bit_length()) if packed.areas >> bit & 1}
        areas |= {area for area, bit in reader.dac_bit.items() if packed.dac >> bit & 1}
        start, end = dt.date.fromordinal(packed.start), dt.date.fromordinal(packed.end)
        expected = sorted(
            row[0]
            for row in every
            if row[0] != pk
            and int.from_bytes(row[1], "little") & packed.states
            and any(int.from_bytes(row[2], "little") >> area & 1 for area in areas)
            and row[8] is not None
            and row[8] <= end
            and (row[9] is None or row[9] >= start)
        )
        pool = signatures.pool_rows(packed, reader)
        assert sorted(row[0] for row in pool) == expected, pk
        # Each database's query written by hand gives the ORM's rows, value for value.
        by_orm = signatures._pool_rows_orm(pk, signatures._keys(packed.states), sorted(areas), start, end)
        assert sorted(map(tuple, pool)) == sorted(map(tuple, by_orm)), pk
        checked += 1
    assert checked > 10


def test_a_check_scores_a_large_pool_in_arrays_to_the_same_figures(matrix, monkeypatch):
    """From engine.IN_ARRAYS candidates on, a check scores its pool in arrays: the same
    activities, the same scores, as one by one."""
    one_by_one = {pk: engine.scored(pk) for pk in matrix}
    monkeypatch.setattr(engine, "IN_ARRAYS", 1)
    in_arrays = {pk: engine.scored(pk) for pk in matrix}
    assert in_arrays == one_by_one
    assert sum(len(found) for found in one_by_one.values()) > 100


@pytest.mark.parametrize("at_once", [50_000, 7])
def test_many_activities_checked_together_find_what_each_check_finds_alone(matrix, monkeypatch, at_once):
    """An import's activities are checked together (engine.scored_together: their pools in one
    query, their candidates' signatures read once, CANDIDATES_AT_ONCE at a time): each gets the
    very pairs and scores its own check gives, also an activity without a pool and one whose
    signature was not just built."""
    monkeypatch.setattr(engine, "CANDIDATES_AT_ONCE", at_once)
    # Few at once: the pairs scored a few at a time too (batch.AMONG_PIECE), many pieces a pool.
    monkeypatch.setattr("coopmatrix.overlaps.batch.AMONG_PIECE", 100_000 if at_once > 7 else 5)
    reads = []
    monkeypatch.setattr(signatures, "rows_of", _spy(signatures.rows_of, reads))
    alone = {pk: engine.scored(pk) for pk in matrix}
    reader = signatures.Reader.now()
    built = {s.activity_id: s for s in signatures.build(matrix[1:])}
    bare = Activity.objects.create(
        title="BT no State yet",
        status="planned",
        confidentiality="public",
        owner=Activity.objects.get(pk=matrix[0]).owner,
    )
    signatures.save([bare.pk])
    reads.clear()
    together = engine.scored_together([*matrix, bare.pk], reader, built)
    assert together == {**alone, bare.pk: {}}
    assert sum(len(found) for found in alone.values()) > 100
    # Half of them checked together: each of the others, a candidate, has its signature read
    # once, at_once at a time at most.
    half = matrix[::2]
    reads.clear()
    assert engine.scored_together(half, reader, built) == {pk: alone[pk] for pk in half}
    others = [[pk for pk in call.args[0] if pk not in half] for call in reads]
    assert sorted(pk for keys in others for pk in keys) == sorted(set(matrix) - set(half))
    assert all(len(keys) <= at_once for keys in others)
    pools = signatures.pools([reader.of(built.get(pk) or signatures.build([pk])[0]) for pk in half], reader)
    candidates = set().union(*pools.values())
    assert set(matrix) - set(half) <= candidates
    assert len(reads) == -(-len(candidates) // at_once)
    # Pools of many at once (PostgreSQL reads them in one query) are each one's pool.
    own = [reader.of(signature) for signature in signatures.build(matrix)]
    pools = signatures.pools(own, reader)
    for packed in own:
        pool = sorted(row[0] for row in signatures.pool_rows(packed, reader))
        assert list(pools.get(packed.pk, [])) == pool


@pytest.mark.parametrize("reduce_at", [500_000, 5])
def test_an_import_checked_together_holds_only_the_scores_its_store_reads(
    matrix, monkeypatch, settings, reduce_at
):
    """Bounded (an import's check), scored_together gives each activity only its OVERLAP_KEEP
    strongest and the scores of its pairs kept now, cut down each batch.REDUCE_AT pairs: in a
    file of near copies every other activity of a group scored at the threshold, and the check
    of a million outgrew the import. What it gives is what the whole scores give."""
    # Pairs kept of each activity's ten strongest, then three asked for.
    settings.OVERLAP_KEEP = 10
    monkeypatch.setattr(engine, "TOGETHER", 10**6)
    engine.refresh(matrix)
    settings.OVERLAP_KEEP = 3
    monkeypatch.setattr("coopmatrix.overlaps.batch.REDUCE_AT", reduce_at)
    reader = signatures.Reader.now()
    built = {s.activity_id: s for s in signatures.build(matrix)}
    whole = engine.scored_together(matrix, reader, built)
    kept = set(Overlap.objects.values_list("first_id", "second_id"))
    assert kept, "the matrix keeps pairs"
    bounded = engine.scored_together(matrix, reader, built, bounded=True)
    expected = {
        pk: {
            other: value
            for other, value in scores.items()
            if other in engine.strongest(scores) or (min(pk, other), max(pk, other)) in kept
        }
        for pk, scores in whole.items()
    }
    assert bounded == expected
    # A kept pair outside both activities' strongest is still given, with its score.
    beyond = [
        (pk, other)
        for pk, scores in whole.items()
        for other in scores
        if (min(pk, other), max(pk, other)) in kept and other not in engine.strongest(scores)
    ]
    assert beyond and all(bounded[pk][other] == whole[pk][other] for pk, other in beyond)
    # With no pair kept, each activity's strongest only: here its one strongest.
    Overlap.objects.all().delete()
    settings.OVERLAP_KEEP = 1
    bounded = engine.scored_together(matrix, reader, built, bounded=True)
    assert bounded == {pk: {o: scores[o] for o in engine.strongest(scores)} for pk, scores in whole.items()}
    assert sum(map(len, whole.values())) > 2 * sum(map(len, bounded.values()))


def test_an_import_checked_again_keeps_a_pair_another_activity_keeps_among_its_strongest(
    matrix, monkeypatch, settings
):
    """A pair stays while it scores at the threshold when either of its two keeps it among its
    strongest: half the matrix checked again together (bounded) keeps every pair, also those
    only the other half's activities keep among their strongest."""
    settings.OVERLAP_KEEP = 3
    Overlap.objects.all().delete()
    monkeypatch.setattr(engine, "TOGETHER", 10**6)
    engine.refresh(matrix)
    before = _kept_pairs()
    monkeypatch.setattr(engine, "TOGETHER", 2)
    monkeypatch.setattr("coopmatrix.overlaps.batch.REDUCE_AT", 5)
    half = matrix[::2]
    reader = signatures.Reader.now()
    built = {s.activity_id: s for s in signatures.build(half)}
    whole = engine.scored_together(half, reader, built)
    # Pairs of the half that are not among its activity's strongest, kept for the other one.
    theirs = [
        (pk, other)
        for pk, scores in whole.items()
        for other in scores
        if other not in half
        and other not in engine.strongest(scores)
        and Overlap.objects.filter(first=min(pk, other), second=max(pk, other)).exists()
    ]
    assert theirs
    engine.refresh(half)
    assert _kept_pairs() == before


def test_the_pools_give_each_candidate_once_and_the_pairs_of_a_range_of_candidates():
    """batch.Pools: every candidate once, ascending, from a mask when their keys are near each
    other and from a sort when they are far apart; the pairs of a range of candidates, whatever
    the size of a piece."""
    from coopmatrix.overlaps.batch import Pools

    near = Pools.of([(1, [3, 5, 9]), (2, []), (4, [5, 6]), (7, [1, 9, 12])])
    far = Pools.of([(1, [3, 5, 2**31]), (4, [5, 6]), (7, [1, 2**31])])
    assert list(near.mine) == [1, 4, 7]
    assert near.candidates().tolist() == [1, 3, 5, 6, 9, 12]
    assert far.candidates().tolist() == [1, 3, 5, 6, 2**31]
    for size in (1, 2, 100):
        pieces = list(near.pairs_with(5, 9, size))
        pairs = [
            (f, s)
            for firsts, seconds in pieces
            for f, s in zip(firsts.tolist(), seconds.tolist(), strict=True)
        ]
        assert pairs == [(1, 5), (1, 9), (4, 5), (4, 6), (7, 9)]
        assert max(len(firsts) for firsts, _seconds in pieces) <= size + 2
    assert list(near.pairs_with(13, 20, 10)) == []


def test_an_import_reads_a_candidate_its_activities_share_once(matrix, monkeypatch, settings):
    """An import's check (engine.refresh of many) gathers its activities' pools, read a few at a
    time (signatures.POOLS_AT_ONCE), up to engine.PAIRS_AT_ONCE pairs before it reads their
    candidates: a candidate many of them share is read once for all of them, not once for each
    few. The pairs kept are those of each activity checked alone."""
    settings.OVERLAP_KEEP = 3
    Overlap.objects.all().delete()
    monkeypatch.setattr(engine, "TOGETHER", 10**6)
    engine.refresh(matrix)
    one_by_one = _kept_pairs()
    assert len(one_by_one) > 30
    Overlap.objects.all().delete()
    monkeypatch.setattr(engine, "TOGETHER", 2)
    monkeypatch.setattr(engine, "STORE_CHUNK", 7)
    monkeypatch.setattr(signatures, "POOLS_AT_ONCE", 4)
    reads = []
    monkeypatch.setattr(signatures, "rows_of", _spy(signatures.rows_of, reads))
    engine.refresh(matrix)
    assert _kept_pairs() == one_by_one
    read = Counter(pk for call in reads for pk in call.args[0])
    assert len(read) > 40 and max(read.values()) == 1
    # Gathered a few pairs at a time, a candidate is read again for each gathering; the pairs
    # kept are the same.
    Overlap.objects.all().delete()
    monkeypatch.setattr(engine, "PAIRS_AT_ONCE", 30)
    reads.clear()
    engine.refresh(matrix)
    assert _kept_pairs() == one_by_one
    assert max(Counter(pk for call in reads for pk in call.args[0]).values()) > 1


def test_the_check_of_many_activities_collects_cycles_less_often_and_as_before_after(matrix, monkeypatch):
    seen = []
    save = signatures.save
    monkeypatch.setattr(signatures, "save", lambda ids: seen.append(gc.get_threshold()) or save(ids))
    before = gc.get_threshold()
    engine.refresh(matrix)
    assert seen and all(thresholds == collecting.THRESHOLDS for thresholds in seen)
    assert gc.get_threshold() == before


def _kept_pairs():
    return sorted(Overlap.objects.values_list("first_id", "second_id", "score", "reasons"))


def test_an_import_checked_together_keeps_the_pairs_of_one_by_one(matrix, monkeypatch, settings):
    """refresh of many activities checks them together from engine.TOGETHER on: the pairs kept
    are those kept when each is checked alone."""
    settings.OVERLAP_KEEP = 3

    Overlap.objects.all().delete()
    monkeypatch.setattr(engine, "TOGETHER", 10**6)
    engine.refresh(matrix)
    one_by_one = _kept_pairs()
    Overlap.objects.all().delete()
    monkeypatch.setattr(engine, "TOGETHER", 2)
    calls = []
    monkeypatch.setattr(engine, "scored_together", _spy(engine.scored_together, calls))
    engine.refresh(matrix)
    assert calls, "the activities were not checked together"
    assert _kept_pairs() == one_by_one
    assert len(one_by_one) > 30
    # Kept with the reasons a pair's page gives (explained from the activities, where the check
    # reads its signatures).
    for first, second, score, reasons in one_by_one[:25]:
        (checked,) = engine.explained(first, [second])
        assert (checked.score, engine.reasons_of(checked)) == (score, reasons)


def test_a_check_of_more_activities_than_a_chunk_holds_one_chunk_of_signatures_at_a_time(
    matrix, monkeypatch, settings
):
    """An import's check on commit signs every activity first, then scores them a chunk at a
    time with that chunk's signatures read back: none is held for the whole import (a million
    would take more memory than the import). The pairs kept are those of the check of all at
    once, and an activity deleted meanwhile has none."""
    settings.OVERLAP_KEEP = 3

    gone = Activity.objects.get(pk=matrix[-1])
    gone.delete()
    Overlap.objects.all().delete()
    monkeypatch.setattr(engine, "STORE_CHUNK", 10**6)
    engine.refresh(matrix)
    all_at_once = _kept_pairs()
    Overlap.objects.all().delete()
    monkeypatch.setattr(engine, "STORE_CHUNK", 7)
    monkeypatch.setattr(engine, "SCORE_GROUP", 7)
    monkeypatch.setattr(engine, "TOGETHER", 2)
    monkeypatch.setattr(signatures, "SAVE_CHUNK", 5)
    saved, held = [], []
    save, together = signatures.save, engine.scored_together
    monkeypatch.setattr(signatures, "save", lambda ids: saved.append(len(ids)) or save(ids))

    def scored_together(part, reader, built, **bounded):
        held.append(len(built))
        return together(part, reader, built, **bounded)

    monkeypatch.setattr(engine, "scored_together", scored_together)
    engine.refresh(matrix)
    assert _kept_pairs() == all_at_once
    assert len(all_at_once) > 30
    assert saved and max(saved) <= 5 and sum(saved) >= len(matrix) - 1  # all but the one deleted
    assert held and max(held) <= 7
    assert not Overlap.objects.filter(first_id=gone.pk).exists()
    assert not Overlap.objects.filter(second_id=gone.pk).exists()


class _Call:
    def __init__(self, args):
        self.args, self.result = args, None


def _spy(function, calls):
    """`function`, noting each call's arguments and what it gave (a generator's items, listed)."""

    def spied(*args, **kwargs):
        call = _Call(args)
        calls.append(call)
        result = function(*args, **kwargs)
        call.result = list(result) if inspect.isgenerator(result) else result
        return iter(call.result) if inspect.isgenerator(result) else call.result

    return spied


def test_groups_and_modalities_numbered_past_a_byte_keep_the_same_pairs(matrix, settings):
    """A matrix's providers, programmes and modalities are numbered as they come (batch._Coder):
    the sweep's first pass keeps their numbers as the table does, whatever their size."""
    import dataclasses

    from coopmatrix.overlaps import batch

    settings.OVERLAP_KEEP = 3
    table = batch.load(signatures.Reader.now())
    before, _ = batch.strongest(table, workers=1)
    renumbered = dataclasses.replace(
        table,
        modality=np.where(table.modality >= 0, table.modality + 200, -1).astype(table.modality.dtype),
        group=(table.group + 70_000).astype(table.group.dtype),
    )
    after, _ = batch.strongest(renumbered, workers=1)
    assert len(before) and after.as_dict() == before.as_dict()


def test_the_bits_set_in_masks_are_found_row_by_row_whatever_the_word():
    """The blocks are made from each row's States and area keys (batch._set_bits): every bit set,
    in every word (the top bit of a word too), row by row, none invented for an empty row."""
    from coopmatrix.overlaps import batch

    rng = np.random.default_rng(3)
    words = rng.integers(0, 2**64, size=(200, 3), dtype=np.uint64) & rng.integers(
        0, 2**64, size=(200, 3), dtype=np.uint64
    )
    words[5] = 0
    words[6] = [np.uint64(1) << np.uint64(63), 0, np.uint64(1)]
    rows, bits = batch._set_bits(words)
    expected = np.nonzero(np.unpackbits(words.view(np.uint8), axis=1, bitorder="little"))
    assert rows.tolist() == expected[0].tolist() and bits.tolist() == expected[1].tolist()
    assert 5 not in rows.tolist()
    assert bits[rows == 6].tolist() == [63, 128]
    empty_rows, empty_bits = batch._set_bits(np.zeros((0, 2), dtype=np.uint64))
    assert len(empty_rows) == len(empty_bits) == 0


@pytest.mark.parametrize("scale", [1, 2**50])
def test_the_blocks_entries_are_ordered_by_block_start_and_row_whatever_their_size(scale):
    """The blocks' entries (batch._by_block_and_start) come in the order of a sort by block, then
    the row's start, then row, whether they fit in one 64-bit number each or not (scale)."""
    from coopmatrix.overlaps import batch

    rng = np.random.default_rng(5)
    start = rng.integers(730_000, 731_000, size=300)
    start[7] = start[8]  # two rows starting the same day, in the same blocks
    row = np.sort(rng.integers(0, 300, size=2_000))
    row[:40] = np.repeat([7, 8], 20)
    block = rng.integers(0, 40, size=2_000).astype(np.int64) * scale
    block[:40] = np.tile(np.arange(20) * scale, 2)
    order = np.lexsort((row, start[row], block))
    got_block, got_row = batch._by_block_and_start(block.copy(), row.copy(), start)
    assert got_block.tolist() == block[order].tolist()
    assert got_row.tolist() == row[order].tolist()


@pytest.mark.django_db(transaction=True)
def test_the_console_command_outside_a_transaction_finds_what_it_finds_inside_one(reference, matrix):
    """`coopmatrix find_overlaps` runs outside any transaction (each write its own): the signatures
    are read a chunk at a time through a cursor that must outlive its statement there. It finds
    what the full computation finds inside a transaction, and a second run adds nothing."""
    from django.core.management import call_command
    from django.db import transaction

    Overlap.objects.all().delete()
    with transaction.atomic():
        engine.find_all()
        inside = set(Overlap.objects.values_list("first_id", "second_id", "score"))
        transaction.set_rollback(True)
    assert not Overlap.objects.exists() and len(inside) > 50
    started = timezone.now()
    call_command("find_overlaps", "--quiet-progress", verbosity=0)
    assert set(Overlap.objects.values_list("first_id", "second_id", "score")) == inside
    call_command("find_overlaps", "--quiet-progress", verbosity=0)
    assert set(Overlap.objects.values_list("first_id", "second_id", "score")) == inside
    # Each pair written once, with its history row: the second run wrote nothing.
    assert Overlap.history.filter(history_date__gte=started).count() == len(inside)


def _vacuums_of_blocks() -> int | None:
    """How many times the blocks' table was vacuumed by hand, on PostgreSQL (None elsewhere)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT vacuum_count FROM pg_stat_user_tables WHERE relid = 'overlaps_block'::regclass"
        )
        return int(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_an_import_is_signed_then_its_blocks_vacuumed_before_its_check_on_commit(
    reference, matrix, monkeypatch, settings
):
    """An import's check on commit signs its activities in a transaction of their own and, on
    PostgreSQL, has the blocks' table vacuumed before it scores them (their blocks then read from
    the index alone); the pairs kept are those of a check in one transaction. A few activities
    changed are checked in one transaction, with no vacuum."""
    from django.db import transaction

    settings.OVERLAP_KEEP = 3
    Overlap.objects.all().delete()
    with transaction.atomic():
        engine.refresh(matrix)
        in_one = _kept_pairs()
        transaction.set_rollback(True)
    assert len(in_one) > 30 and not Overlap.objects.exists()
    monkeypatch.setattr(engine, "SIGNED_APART", 20)
    monkeypatch.setattr(engine, "STORE_CHUNK", 7)
    signed_in = []
    sign = engine.sign
    monkeypatch.setattr(
        engine, "sign", lambda ids: signed_in.append(transaction.get_autocommit()) or sign(ids)
    )
    before = _vacuums_of_blocks()
    with transaction.atomic():
        engine.changed(matrix)
        assert not Overlap.objects.exists()  # checked once committed
    assert _kept_pairs() == in_one
    assert signed_in == [False]  # once, in a transaction, not one by one
    if before is not None:
        assert _vacuums_of_blocks() == before + 1
    with transaction.atomic():
        engine.changed(matrix[:10])
    assert _kept_pairs() == in_one
    if before is not None:
        assert _vacuums_of_blocks() == before + 1


def test_the_pools_of_an_import_are_read_in_queries_sized_by_their_keys(matrix, monkeypatch):
    """An import of near copies gives each activity a share of the others as candidates, more as
    it grows: the pools' query takes as many activities as those before it say make some
    KEYS_AT_ONCE keys (memory), starting from a few and growing by doubling where the pools are
    small. The pools are the same either way."""
    reader = signatures.Reader.now()
    own = [reader.of(signature) for signature in signatures.build(matrix)]
    alone = {packed.pk: sorted(row[0] for row in signatures.pool_rows(packed, reader)) for packed in own}
    assert sum(len(pool) for pool in alone.values()) > 500
    monkeypatch.setattr(signatures, "POOLS_FIRST", 4)

    def batches(keys_at_once: int) -> list[dict]:
        monkeypatch.setattr(signatures, "KEYS_AT_ONCE", keys_at_once)
        read = list(signatures.pools_by_batch(own, reader))
        together = {pk: sorted(pool.tolist()) for batch in read for pk, pool in batch.items()}
        assert together == {pk: pool for pk, pool in alone.items() if pk in together}
        assert {pk for pk, pool in alone.items() if pool} <= set(together)
        return read

    small = batches(40)
    large = batches(10**9)
    if connection.vendor == "postgresql":
        # Small pools: doubling up to what is left (90 activities, each with its dates and areas).
        assert [len(batch) for batch in large][:4] == [4, 8, 16, 32]
        # Some 40 keys a query: a few activities each, never more than twice the first.
        assert len(small) > len(large) and all(len(batch) <= 8 for batch in small)
        assert max(sum(len(pool) for pool in batch.values()) for batch in small[1:]) < 200
    else:
        assert len(small) == len(large)  # SQLite reads each pool alone, whatever the keys

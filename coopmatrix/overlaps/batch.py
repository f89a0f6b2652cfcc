"""The full computation: every possible overlap of the matrix at once (`coopmatrix find_overlaps`).

All signatures are read into arrays (numpy), one row per activity. Two activities can only be
candidates when they share a State and an area or DAC purpose code, so the activities are put in
blocks by (State, area key), each block sorted by start; in a block, the activities whose periods
meet one's are the ones that start before it ends (a sweep, no pair compared twice). A pair sharing
several States and keys is compared in one block only: the one of its lowest common State and key.

The pairs of each block are swept by a compiled loop (sweep.py) that scores them with the
arithmetic of scoring.unrounded and keeps each activity's strongest as it goes; a score is held to
the lowest figure that rounds to the threshold (`cut`), so what is kept is what the check on save
keeps.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from functools import lru_cache
from itertools import count, islice
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction

from . import signatures
from .models import Overlap, Signature
from .scoring import FINGERPRINT_BITS

#: Pieces of about as many pairs the sweep is cut into: the workers take them largest first, one
#: at a time, and look at the clock and the progress bar between two (a State and area of a tenth
#: of the matrix would otherwise keep one worker busy while the others wait).
SWEEP_PIECES = 256
#: Activities whose pairs are gathered at once (memory).
MERGE_ROWS = 50_000


@dataclass
class Table:
    """Every signature, one row per activity (only those with a period and a State)."""

    pk: np.ndarray  # int64: the activities' keys, ascending
    states: np.ndarray  # uint64 [n, words]
    areas: np.ndarray
    dac: np.ndarray
    instruments: np.ndarray
    text: np.ndarray
    n_states: np.ndarray
    n_areas: np.ndarray
    n_instruments: np.ndarray
    n_text: np.ndarray
    group: np.ndarray  # int32: providers and programme; a pair needs two different ones
    modality: np.ndarray  # int16, -1 for none
    start: np.ndarray  # int64 day numbers
    end: np.ndarray
    start_month: np.ndarray
    end_month: np.ndarray
    key_words: np.ndarray  # uint64 [n, words]: its area keys (an area's DAC code, or the area)


def _count(array: np.ndarray) -> np.ndarray:
    return np.bitwise_count(array).sum(axis=1, dtype=np.int32)


def load(reader: signatures.Reader) -> Table:
    """Every signature that can be in a pair (a State, an area, a period), in arrays. Rows are read
    into compact buffers, never into an object per activity: a million fit in some 400 MB."""
    from django.db import connection

    table = None
    if connection.vendor == "postgresql":
        table = _load_as_bytes(reader)
    if table is None:
        rows = Signature.objects.values_list(*signatures.FIELDS, *signatures.PERIOD).order_by("activity_id")
        if connection.vendor == "postgresql":
            # In binary form: the masks as they are kept, where the text form sends them in hexadecimal.
            table = table_of(signatures.stream_binary(*rows.query.sql_with_params()), reader)
        else:
            table = table_of(rows.iterator(chunk_size=20_000), reader)
    give_back_memory()
    return table


#: How `_load_as_bytes` tells groups (providers and programme) and modalities apart: by a 64-bit
#: hash of their text, used only once the hashes of all different ones are found different.
GROUP_HASH = "hashtextextended(s.providers || coalesce(E'\\n' || s.programme, ''), 0)"
MODALITY_HASH = "hashtextextended(s.modality, 0)"


def _load_as_bytes(reader: signatures.Reader) -> Table | None:
    """`load` on PostgreSQL: the server writes each signature as one value of fixed width (its
    masks padded with zero bytes, its group and modality as hashes, its days), which numpy reads
    as columns. A million in some 4 s, where a Python tuple a row and columns made of them took
    6.3 s side by side (and 743 MB rather than 570). None when two groups or two modalities share
    a hash (`load` then reads the rows one by one); a group first saved during the read could
    share one unseen: with sixteen thousand groups, about one chance in 10^15."""
    from django.db import connection

    table = connection.ops.quote_name(Signature._meta.db_table)
    lengths, groups_apart, modalities_apart, no_modality = _shapes(table)
    if not (groups_apart and modalities_apart):
        return None
    widths = [max(1, ((length or 0) + 7) // 8) for length in lengths] + [FINGERPRINT_BITS // 64]
    names = ("states", "areas", "instruments", "text")
    row = np.dtype(
        [("pk", ">i8")]
        + [(name, "<u8", (width,)) for name, width in zip(names, widths, strict=True)]
        + [("group", ">i8"), ("modality", ">i8"), ("start", ">i4"), ("end", ">i4")]
    )
    # A mask wider than the widths read first (saved since) keeps its bytes, and its row is longer.
    padded = " || ".join(
        f"s.{name} || substring(%(zeros_{width})s from 1 for greatest(0, {8 * width} - length(s.{name})))"
        for name, width in zip(names, widths, strict=True)
    )
    sql = (
        f"SELECT int8send(s.activity_id) || {padded} || int8send({GROUP_HASH})"
        f" || int8send({MODALITY_HASH}) || int4send(s.start - DATE '2000-01-01')"
        f" || int4send(coalesce(s.\"end\", greatest(s.start, %(open_end)s::date)) - DATE '2000-01-01')"
        f" FROM {table} s WHERE s.start IS NOT NULL ORDER BY s.activity_id"
    )
    params = {f"zeros_{width}": bytes(8 * width) for width in widths} | {"open_end": reader.open_end}
    coder = _Coder(reader)
    parts = []
    with closing(signatures.batches_binary(sql, params, CHUNK_ROWS)) as batches:
        for batch in batches:
            values = [value for (value,) in batch]
            if set(map(len, values)) != {row.itemsize}:
                return None
            rows = np.frombuffer(b"".join(values), dtype=row)
            del values, batch
            rows = rows[rows["states"].any(axis=1) & rows["areas"].any(axis=1)]
            parts.append(
                coder.finished(
                    pk=rows["pk"].astype(np.int64),
                    states=np.ascontiguousarray(rows["states"]),
                    areas=np.ascontiguousarray(rows["areas"]),
                    instruments=np.ascontiguousarray(rows["instruments"]),
                    text=np.ascontiguousarray(rows["text"]),
                    group=rows["group"].astype(np.int64),
                    modality=rows["modality"].astype(np.int64),
                    first=rows["start"].astype(np.int64) + _Y2K,
                    last=rows["end"].astype(np.int64) + _Y2K,
                )
            )
    joined = _joined(parts or [coder.columns([])])
    # The hashes numbered: equal hashes, equal numbers; no modality, -1.
    joined["group"] = np.unique(joined["group"], return_inverse=True)[1].reshape(-1).astype(np.int32)
    modality = np.unique(joined["modality"], return_inverse=True)[1].reshape(-1)
    joined["modality"] = np.where(joined["modality"] == no_modality, -1, modality).astype(np.int16)
    return _table(joined)


def _shapes(table: str) -> tuple[tuple[int | None, ...], bool, bool, int]:
    """The longest States, areas and instruments masks of the signatures; whether different groups
    and different modalities all have different hashes; the hash of no modality."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT max(length(s.states)), max(length(s.areas)), max(length(s.instruments)),"
            f" (SELECT count(*) = count(DISTINCT h) FROM (SELECT {GROUP_HASH} AS h FROM {table} s"
            "  GROUP BY s.providers, s.programme) g),"
            # No modality among them, whose hash stands for none.
            f" (SELECT count(*) = count(DISTINCT h) FROM (SELECT {MODALITY_HASH} AS h FROM"
            f"  (SELECT s.modality FROM {table} s UNION SELECT '') s) m),"
            f" (SELECT {MODALITY_HASH} FROM (SELECT '' AS modality) s)"
            f" FROM {table} s"
        )
        *lengths, groups_apart, modalities_apart, no_modality = cursor.fetchone()
    return tuple(lengths), groups_apart, modalities_apart, no_modality


def give_back_memory() -> None:
    """Hand the memory freed but kept by C's allocator back to the system (glibc's malloc_trim,
    as Dask's workers do): reading a million rows leaves some 200 MB of the database driver's
    buffers in the heap, which the search's arrays would otherwise come on top of."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc: nothing to hand back this way
        return
    if trim is not None:
        trim(0)


def table_of(rows: Iterable[tuple], reader: signatures.Reader) -> Table:
    """These signature rows (signatures.FIELDS and PERIOD) in arrays, in their order; rows that
    cannot be in a pair are left out. Read a column at a time, in chunks: numpy pads and lays out
    the masks and fingerprints, Python touches each row only to number its group and modality and
    to count its days (a check reads thousands of rows, the full computation a million)."""
    coder = _Coder(reader)
    iterator = iter(rows)
    parts = [coder.columns(chunk) for chunk in iter(lambda: list(islice(iterator, CHUNK_ROWS)), [])]
    return _table(_joined(parts or [coder.columns([])]))


def _joined(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    joined = {name: _stack([part.pop(name) for part in parts]) for name in list(parts[0])}
    del parts[:]
    return joined


def _table(columns: dict[str, np.ndarray]) -> Table:
    return Table(
        **columns,
        **{f"n_{name}": _count(columns[name]) for name in ("states", "areas", "instruments", "text")},
    )


#: Rows read into columns at once.
CHUNK_ROWS = 50_000
#: 1 January 1970, the origin of numpy's dates, and 1 January 2000, PostgreSQL's, as day numbers
#: (date.toordinal).
_EPOCH, _Y2K = 719_163, 730_120


def _stack(parts: list[np.ndarray]) -> np.ndarray:
    if len(parts) == 1:
        return parts[0]
    if parts[0].ndim == 1:
        return np.concatenate(parts)
    # Masks of two chunks may differ in width (a chunk without the highest State): the narrower
    # are widened with zero words, copied once into place.
    rows, width = sum(len(part) for part in parts), max(part.shape[1] for part in parts)
    stacked = np.zeros((rows, width), parts[0].dtype)
    at = 0
    for part in parts:
        stacked[at : at + len(part), : part.shape[1]] = part
        at += len(part)
    return stacked


def _words(masks: Iterable[bytes], width: int | None = None) -> np.ndarray:
    """Bit masks (little-endian bytes) as rows of 64-bit words, the lowest bits first: numpy's
    fixed-width bytes pad each with zeros, as bytes.ljust would, without a loop in Python."""
    column = np.array(list(masks), dtype=bytes)
    if width is None:
        width = max(1, (column.dtype.itemsize + 7) // 8)
    padded = np.array(column, dtype=f"S{8 * width}")
    return padded.view("<u8").reshape(len(padded), width).astype(np.uint64, copy=False)


class _Coder:
    """Turns chunks of signature rows into columns, numbering groups and modalities the same way
    from one chunk to the next."""

    def __init__(self, reader: signatures.Reader) -> None:
        self.reader = reader
        # A key seen for the first time gets the next number (looked up by map(), in C).
        self.groups: defaultdict[tuple[str, str | None], int] = defaultdict(count().__next__)
        self.modalities: defaultdict[str | None, int] = defaultdict(count().__next__, {"": -1, None: -1})
        # Each area key (signatures.area_keys: a DAC purpose code, or an area of none) gets a bit.
        bit_of = {key: i for i, key in enumerate(sorted(set(reader.area_key.values())))}
        self.area_bit = {area: bit_of[key] for area, key in reader.area_key.items()}

    def keys_and_dac(self, areas: bytes) -> tuple[bytes, bytes]:
        mask, value = 0, int.from_bytes(areas, "little")
        for area in signatures._keys(value):
            if area in self.area_bit:
                mask |= 1 << self.area_bit[area]  # two areas of one DAC code: one bit
        return signatures._bytes(mask), signatures._bytes(self.reader.dac(value))

    def columns(self, chunk: list[tuple]) -> dict[str, np.ndarray]:
        columns = list(zip(*chunk, strict=True)) if chunk else [()] * 10
        pk, states, areas, instruments, text, providers, programme, modality, start, end = columns
        state_words, area_words = _words(states), _words(areas)
        # A row can be in a pair with a State, an area and a start.
        kept = np.flatnonzero(
            state_words.any(axis=1)
            & area_words.any(axis=1)
            & np.fromiter((day is not None for day in start), dtype=bool, count=len(start))
        )
        # Most chunks keep every row: their columns are then taken as they are.
        every = len(kept) == len(pk)
        rows = kept.tolist()

        def pick(column: tuple) -> Sequence:
            return column if every else [column[i] for i in rows]

        starts, ends = pick(start), pick(end)
        # Under way: to the end of this month (or its start, when it starts later).
        open_end = self.reader.open_end
        return self.finished(
            pk=np.array(pick(pk), dtype=np.int64),
            states=state_words[kept],
            areas=area_words[kept],
            instruments=_words(instruments)[kept],
            text=_words(text, FINGERPRINT_BITS // 64)[kept],
            group=np.fromiter(
                map(self.groups.__getitem__, zip(pick(providers), pick(programme), strict=True)),
                dtype=np.int32,
                count=len(rows),
            ),
            modality=np.fromiter(
                map(self.modalities.__getitem__, pick(modality)), dtype=np.int16, count=len(rows)
            ),
            first=np.fromiter(map(dt.date.toordinal, starts), dtype=np.int64, count=len(rows)),
            last=np.fromiter(
                ((e or max(s, open_end)).toordinal() for s, e in zip(starts, ends, strict=True)),
                dtype=np.int64,
                count=len(rows),
            ),
        )

    def finished(
        self,
        *,
        pk: np.ndarray,
        states: np.ndarray,
        areas: np.ndarray,
        instruments: np.ndarray,
        text: np.ndarray,
        group: np.ndarray,
        modality: np.ndarray,
        first: np.ndarray,
        last: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """The columns of rows that can be in a pair, from their masks as words and their days."""
        # The areas' keys and DAC codes, decoded once for each different mask (a mask of one word
        # sorted as numbers: as rows of bytes, numpy sorts them five times slower).
        if areas.shape[1] == 1:
            different, area_of = np.unique(areas[:, 0], return_inverse=True)
            different = different.reshape(-1, 1)
        else:
            different, area_of = np.unique(areas, axis=0, return_inverse=True)
        coded = [self.keys_and_dac(row.astype("<u8").tobytes()) for row in different]
        area_of = area_of.reshape(-1)
        return {
            "pk": pk,
            "states": states,
            "areas": areas,
            "dac": _words([dac for _keys, dac in coded])[area_of],
            "key_words": _words([keys for keys, _dac in coded])[area_of],
            "instruments": instruments,
            "text": text,
            "group": group,
            "modality": modality,
            "start": first,
            "end": last,
            "start_month": _month(first),
            "end_month": _month(last),
        }


def _month(days: np.ndarray) -> np.ndarray:
    """Day numbers (date.toordinal) as year × 12 + month - 1."""
    return (days - _EPOCH).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) + 1970 * 12


def _set_bits(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, bit) of every bit set in rows of 64-bit words, by row."""
    from .sweep import set_bits

    return set_bits(np.ascontiguousarray(words, dtype=np.uint64))


def blocks(table: Table) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Rows ordered by block (State, key) and start; the block of each; where each block starts;
    the number of keys (a block is state × width + key)."""
    # Each working array goes as soon as it is used (a million rows make some five million
    # entries: each array of them is 40 MB).
    state_rows, states = _set_bits(table.states)
    key_rows, keys = _set_bits(table.key_words)
    width = int(keys.max()) + 1 if len(keys) else 1
    n_keys = np.bincount(key_rows, minlength=len(table.pk))
    del key_rows
    key_first = np.r_[0, np.cumsum(n_keys)[:-1]]
    # Every (State, key) of each row: its States each repeated once per key.
    repeat = n_keys[state_rows]
    del n_keys
    row = np.repeat(state_rows, repeat)
    del state_rows
    offset = np.arange(len(row)) - np.repeat(np.cumsum(repeat) - repeat, repeat)
    block = np.repeat(states, repeat).astype(np.int64) * width
    del states, repeat
    block += keys[key_first[row] + offset]
    del keys, key_first, offset
    block, row = _by_block_and_start(block, row, table.start)
    starts = np.flatnonzero(np.r_[True, block[1:] != block[:-1]])
    return row, block, starts, width


def _by_block_and_start(
    block: np.ndarray, row: np.ndarray, start: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The entries (block, row) ordered by block, the row's start, then row: each made one number
    (block, start and row, in that order of weight) and the numbers sorted, in place, where a
    lexsort and two gathers of its order took 3.3-5.1 s for the 4.6 million entries of a million
    activities (1.3-2.0 s so). A lexsort where the numbers would not fit in 64 bits."""
    if not len(row):
        return block, row
    first = start[row]
    lowest, days = int(first.min()), int(first.max() - first.min()) + 1
    rows = len(start)
    if (int(block.max()) + 1) * days * rows >= 2**63:
        order = np.lexsort((row, first, block))
        return block[order], row[order]
    first -= lowest
    block *= days
    block += first
    del first
    block *= rows
    block += row
    block.sort()
    row = block % rows
    block //= days * rows
    return block, row


def sweep_size(table: Table) -> int:
    """How many pairs the sweep goes through (periods that meet in a block), without comparing them."""
    from .sweep import reach

    rows, _block, starts, _width = blocks(table)
    ends = np.r_[starts[1:], len(rows)]
    return int(reach(table.start[rows], table.end[rows], starts, ends).sum(dtype=np.int64))


@dataclass
class Plan:
    """The sweep cut into pieces: segments (places first:stop of a block that ends at `end`, whose
    block is `block`), laid out piece by piece, the pieces of most pairs first."""

    first: np.ndarray
    stop: np.ndarray
    end: np.ndarray
    block: np.ndarray
    #: Where each piece's segments start in the four arrays above (and where the last ends).
    piece: np.ndarray

    def __len__(self) -> int:
        return len(self.piece) - 1

    def segments(self, index: int) -> slice:
        return slice(int(self.piece[index]), int(self.piece[index + 1]))


def plan(partners: np.ndarray, starts: np.ndarray, ends: np.ndarray, block_ids: np.ndarray) -> Plan:
    """Cut the places (`partners`: how many pairs each place begins, sweep.reach) into some
    SWEEP_PIECES pieces of about as many pairs: a block of many pairs is cut across its places
    (a place's pairs are all with the members after it, so a piece holds them whole), and small
    blocks go together."""
    target = max(1, -(-int(partners.sum(dtype=np.int64)) // SWEEP_PIECES))
    before = np.cumsum(partners, dtype=np.int64)
    before -= partners
    piece_of = before // target
    del before
    first = np.union1d(np.flatnonzero(np.r_[True, piece_of[1:] != piece_of[:-1]]), starts)
    first = first[first < len(partners)]
    stop = np.r_[first[1:], len(partners)]
    pairs = np.add.reduceat(partners.astype(np.int64), first) if len(first) else np.zeros(0, np.int64)
    busy = pairs > 0
    first, stop, pairs, piece = first[busy], stop[busy], pairs[busy], piece_of[first[busy]]
    del piece_of
    in_block = np.searchsorted(starts, first, side="right") - 1
    size = np.bincount(piece, weights=pairs) if len(piece) else np.zeros(0)
    rank = np.empty(len(size), dtype=np.int64)
    rank[np.argsort(-size, kind="stable")] = np.arange(len(size))
    order = np.lexsort((first, rank[piece]))
    piece = rank[piece][order]
    return Plan(
        first=first[order],
        stop=stop[order],
        end=ends[in_block][order],
        block=block_ids[in_block][order],
        piece=np.r_[
            np.flatnonzero(np.r_[True, piece[1:] != piece[:-1]]) if len(piece) else [], len(piece)
        ].astype(np.int64),
    )


def _share(a: np.ndarray, b: np.ndarray, na: np.ndarray, nb: np.ndarray) -> np.ndarray:
    common = np.bitwise_count(a & b).sum(axis=1, dtype=np.int32)
    smaller = np.minimum(na, nb)
    return np.divide(common, smaller, out=np.zeros(len(common)), where=smaller > 0)


def score_arrays(
    table: Table, a: np.ndarray, b: np.ndarray, weights: dict[str, float], at_least: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The score of candidate pairs (a, b), as scoring.unrounded computes it (the same operations
    in the same order, so the very same number), for the pairs that may reach `at_least`: the
    cheap parts come first, and a pair that cannot reach it even with its States and text alike
    is left before those two are read (the fingerprints are most of the work)."""
    t = table
    overlap = np.minimum(t.end_month[a], t.end_month[b]) - np.maximum(t.start_month[a], t.start_month[b]) + 1
    shorter = np.minimum(t.end_month[a] - t.start_month[a], t.end_month[b] - t.start_month[b]) + 1
    months = np.minimum(1.0, overlap / shorter)
    areas = _share(t.areas[a], t.areas[b], t.n_areas[a], t.n_areas[b])
    dac_common = (t.dac[a] & t.dac[b]).any(axis=1)
    areas = np.where((areas == 0) & dac_common, 0.5, areas)
    both = (t.n_instruments[a] > 0) & (t.n_instruments[b] > 0)
    instruments_weight = np.where(both, weights["instruments"], 0.0)
    modality = ((t.modality[a] >= 0) & (t.modality[a] == t.modality[b])).astype(np.float64)
    total = weights["states"] + weights["months"] + weights["areas"] + instruments_weight
    total = total + weights["modality"] + weights["text"]
    total = np.where(total == 0, 1.0, total)
    best = (
        (weights["states"] + months * weights["months"] + areas * weights["areas"] + instruments_weight)
        + modality * weights["modality"]
        + weights["text"]
    )
    hope = best / total >= at_least - 1e-6
    a, b, months, areas, both = a[hope], b[hope], months[hope], areas[hope], both[hope]
    instruments_weight, modality, total = instruments_weight[hope], modality[hope], total[hope]
    states = _share(t.states[a], t.states[b], t.n_states[a], t.n_states[b])
    instruments = np.where(
        both, _share(t.instruments[a], t.instruments[b], t.n_instruments[a], t.n_instruments[b]), 0.0
    )
    own = t.n_text[a] + t.n_text[b]
    shared = np.bitwise_count(t.text[a] & t.text[b]).sum(axis=1, dtype=np.int32)
    text = np.divide(2 * shared, own, out=np.zeros(len(own)), where=(t.n_text[a] > 0) & (t.n_text[b] > 0))
    points = (
        states * weights["states"]
        + months * weights["months"]
        + areas * weights["areas"]
        + instruments * instruments_weight
        + modality * weights["modality"]
        + text * weights["text"]
    )
    return a, b, points / total


def scores_with(table: Table, first: int, weights: dict[str, float], threshold: float) -> dict[int, float]:
    """The activities scoring at the threshold with the one in row `first`, and their scores
    before rounding: the check on save, in arrays, for the pools of thousands."""
    others = np.delete(np.arange(len(table.pk)), first)
    a = np.full(len(others), first)
    line = cut(threshold)
    a, b, value = _reaching(table, a, others, weights, line)
    return dict(zip(table.pk[b].tolist(), value.tolist(), strict=True))


def _reaching(
    table: Table, a: np.ndarray, b: np.ndarray, weights: dict[str, float], line: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs (rows a, b) that are candidates (scoring.unrounded's conditions) and score at
    least `line`, with their scores."""
    t = table
    candidate = (
        (t.states[a] & t.states[b]).any(axis=1)
        & ((t.areas[a] & t.areas[b]).any(axis=1) | (t.dac[a] & t.dac[b]).any(axis=1))
        & (t.start[a] <= t.end[b])
        & (t.start[b] <= t.end[a])
        & (t.group[a] != t.group[b])
    )
    a, b, value = score_arrays(t, a[candidate], b[candidate], weights, at_least=line)
    reached = value >= line
    return a[reached], b[reached], value[reached]


#: Pairs scored at once by scores_of_pools (memory: a few arrays of masks as long).
AMONG_PIECE = 100_000


@dataclass
class Pools:
    """Activities and their pools (signatures.pools), each pool an array of its candidates'
    keys, ascending, as it was read: `pools[i]` is that of `mine[i]`. As a mapping of lists, each
    key was a Python number, some 36 bytes, against 8 here; joined in one array, a gathering was
    held twice while it was joined (2.6 million pairs: 21 MB more at the check's peak)."""

    mine: np.ndarray  # int64
    pools: list[np.ndarray]  # int64, each ascending

    @classmethod
    def of(cls, pools: Iterable[tuple[int, Sequence[int] | np.ndarray]]) -> Pools:
        """The pools given as (activity, its candidates, ascending); an empty one is left out."""
        listed = [(pk, np.asarray(others, dtype=np.int64)) for pk, others in pools if len(others)]
        return cls(
            mine=np.fromiter((pk for pk, _others in listed), np.int64, len(listed)),
            pools=[others for _pk, others in listed],
        )

    def pairs_with(self, low: int, high: int, size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The pairs (activity, candidate) whose candidate is between `low` and `high`, some
        `size` at a time as two arrays: each pool's are a slice of it (it is ascending)."""
        firsts: list[np.ndarray] = []
        seconds: list[np.ndarray] = []
        held = 0
        for pk, others in zip(self.mine.tolist(), self.pools, strict=True):
            between = others[np.searchsorted(others, low) : np.searchsorted(others, high, side="right")]
            if not len(between):
                continue
            firsts.append(np.full(len(between), pk, dtype=np.int64))
            seconds.append(between)
            held += len(between)
            if held >= size:
                yield np.concatenate(firsts), np.concatenate(seconds)
                firsts, seconds, held = [], [], 0
        if held:
            yield np.concatenate(firsts), np.concatenate(seconds)

    def candidates(self) -> np.ndarray:
        """Every candidate, once, ascending. Marked in a mask as long as their range when it is
        not much longer than the pairs (1 byte a key of the range): np.unique sorted a copy of
        them all, 8 bytes a pair more at the check's peak."""
        if not self.pools:
            return np.empty(0, dtype=np.int64)
        low = min(int(others[0]) for others in self.pools)
        high = max(int(others[-1]) for others in self.pools)
        if high - low >= 4 * sum(len(others) for others in self.pools):
            return np.unique(np.concatenate(self.pools))
        seen = np.zeros(high - low + 1, dtype=bool)
        for others in self.pools:
            seen[others - low] = True
        return np.flatnonzero(seen) + low


def scores_of_pools(
    pools: Pools,
    read: Callable[[list[int]], Table],
    weights: dict[str, float],
    threshold: float,
    at_once: int,
    keep: int | None = None,
    also: np.ndarray | None = None,
) -> dict[int, dict[int, float]]:
    """scores_with for many activities at once: each activity of `pools` against the activities
    of its pool; the scores of those at the threshold, by activity. The candidates are read
    `at_once` at a time in key order, each once, with the activities themselves (`read`: the
    table of these keys' signatures), so that memory stays flat however many the candidates. An
    activity or candidate the table leaves out (no State, area or period) is in no pair, as in
    scores_with. `keep`: only each activity's `keep` strongest are given (engine.strongest's
    order), and those of the pairs `also` (sorted _pair_key's, the lower key first)."""
    candidates = pools.candidates()
    line = cut(threshold)
    found = Reached(keep, also)
    for start in range(0, len(candidates), at_once):
        keys = candidates[start : start + at_once]
        table = read(np.union1d(keys, pools.mine).tolist())
        # The pairs looked at AMONG_PIECE at a time, not made into arrays of them all: a gathering
        # of 2.6 million pairs (PAIRS_AT_ONCE, as each group's at a million imported) had a traced
        # peak of 174 MB so, 67 MB now.
        for firsts, seconds in pools.pairs_with(int(keys[0]), int(keys[-1]), AMONG_PIECE):
            _score_pairs(table, firsts, seconds, weights, line, found)
        del table
    return found.by_activity()


def _score_pairs(
    table: Table,
    firsts: np.ndarray,
    seconds: np.ndarray,
    weights: dict[str, float],
    line: float,
    found: Reached,
) -> None:
    """Score the pairs (firsts, seconds: keys) that reach `line` into `found`."""
    present = _among(firsts, table.pk) & _among(seconds, table.pk)
    a = np.searchsorted(table.pk, firsts[present])
    b = np.searchsorted(table.pk, seconds[present])
    rows, others, values = _reaching(table, a, b, weights, line)
    found.add(table.pk[rows], table.pk[others], values)


#: Pairs at the threshold a bounded Reached gathers before it cuts each activity's down to those
#: it gives (memory: 20 bytes each, and the sort's as many again).
REDUCE_AT = 500_000


class Reached:
    """The pairs at the threshold as they are scored (activity, other, score before rounding),
    in arrays. Bounded (`keep`), each activity's are cut down to its `keep` strongest and the
    pairs of `also` whenever REDUCE_AT are gathered: an activity of a dense matrix has hundreds
    of candidates, and every one at the threshold of a group of 2,000 was held to its end, as a
    mapping of mappings (some 100 bytes a pair)."""

    def __init__(self, keep: int | None = None, also: np.ndarray | None = None) -> None:
        self.keep, self.also = keep, also if also is not None else np.empty(0, dtype=np.int64)
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.size = 0

    def add(self, mine: np.ndarray, others: np.ndarray, values: np.ndarray) -> None:
        if not len(mine):
            return
        self.parts.append((mine.astype(np.int64), others.astype(np.int64), values))
        self.size += len(mine)
        if self.keep is not None and self.size >= REDUCE_AT:
            self._reduce(self.keep)

    def _joined(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The pairs gathered, as three arrays (then no longer held as parts)."""
        parts, self.parts, self.size = self.parts, [], 0
        if not parts:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0)
        mine = np.concatenate([part[0] for part in parts])
        others = np.concatenate([part[1] for part in parts])
        values = np.concatenate([part[2] for part in parts])
        return mine, others, values

    def _reduce(self, keep: int) -> None:
        mine, others, values = self._joined()
        if not len(mine):
            return
        # By activity, then best first, ties to the lower key: engine.strongest's order.
        order = np.lexsort((others, -values, mine))
        mine, others, values = mine[order], others[order], values[order]
        firsts = np.flatnonzero(np.r_[True, mine[1:] != mine[:-1]])
        rank = np.arange(len(mine)) - np.repeat(firsts, np.diff(np.r_[firsts, len(mine)]))
        kept = rank < keep
        if len(self.also):
            kept |= _among(_pair_key(np.minimum(mine, others), np.maximum(mine, others)), self.also)
        self.parts = [(mine[kept], others[kept], values[kept])]
        self.size = int(kept.sum())

    def by_activity(self) -> dict[int, dict[int, float]]:
        if self.keep is not None:
            self._reduce(self.keep)
        mine, others, values = self._joined()
        found: dict[int, dict[int, float]] = defaultdict(dict)
        for pk, other, value in zip(mine.tolist(), others.tolist(), values.tolist(), strict=True):
            found[pk][other] = value
        return dict(found)


class Strongest:
    """The strongest pairs of each activity, in two arrays of `keep` columns (values best first,
    partners): memory stays at n × keep whatever the number of pairs compared. The sweep
    (sweep.py) fills them."""

    def __init__(self, rows: int, keep: int) -> None:
        self.value = np.full((rows, keep), -np.inf)
        # Empty places hold the largest partner: a tie goes to the lower key, as engine.strongest.
        self.partner = np.full((rows, keep), np.iinfo(np.int32).max, dtype=np.int32)

    def pairs(self, pk: np.ndarray) -> Found:
        """Every pair kept, once: a slice of activities at a time, a pair both keep is taken
        from its lower row only (memory: no array of every entry, no sort to drop the twins).
        Its two arrays go once read: it gives its pairs once."""
        keys, scores = [], []
        for first in range(0, len(self.value), MERGE_ROWS):
            row, column = np.nonzero(self.value[first : first + MERGE_ROWS] > -np.inf)
            row += first
            partner = self.partner[row, column]
            # A pair both keep is taken from its lower row: only a higher row's entries are looked
            # up in their partner's strongest.
            higher = np.flatnonzero(row > partner)
            once = np.ones(len(row), dtype=bool)
            once[higher] = ~(self.partner[partner[higher]] == row[higher, None]).any(axis=1)
            row, partner, value = row[once], partner[once], self.value[row[once], column[once]]
            low, high = np.minimum(pk[row], pk[partner]), np.maximum(pk[row], pk[partner])
            keys.append(_pair_key(low, high))
            scores.append(_rounded(value))
        # Peak memory: each array goes as soon as the next is made (nine million pairs are 75 MB
        # an array).
        del self.value, self.partner
        if not keys:
            return Found(np.zeros(0, dtype=np.int64), np.zeros(0))
        key = np.concatenate(keys)
        del keys
        order = np.argsort(key)
        key = key[order]
        score = np.concatenate(scores)
        del scores
        return Found(key, score[order])


def _pair_key(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """One int64 per pair (the lower activity key in the high bits), to sort and match pairs."""
    if len(second) and int(second.max()) >= 2**32:
        raise ValueError("activity keys past 2**32 cannot be paired in arrays")
    return (first.astype(np.int64) << 32) | second.astype(np.int64)


def _rounded(values: np.ndarray) -> np.ndarray:
    """Scores (0 to 1) to four places as Python's round() gives them, as the check on save rounds
    (numpy's round differs at the last digit): the nearest of the four-place decimals, as a float.
    Ten thousand times a score is exact to some 1e-12, so a score whose fourth-place remainder is
    not within 1e-6 of a half rounds the one way it reads; n / 10,000 is then the float nearest
    that decimal, as Python's decimal reading gives it. The few near a half go to round() itself
    (it took 2.5-3 s for the 5.8 million pairs of a million activities, one by one)."""
    scaled = values * 10_000.0
    whole = np.floor(scaled)
    rest = scaled - whole
    out = (whole + (rest > 0.5)) / 10_000.0
    near = np.flatnonzero(np.abs(rest - 0.5) < 1e-6)
    if len(near):
        out[near] = [round(value, 4) for value in values[near].tolist()]
    return out


@dataclass
class Found:
    """Pairs kept, sorted: their keys (_pair_key) and scores."""

    keys: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.keys)

    def as_dict(self) -> dict[tuple[int, int], float]:
        return {
            (key >> 32, key & 0xFFFFFFFF): score
            for key, score in zip(self.keys.tolist(), self.scores.tolist(), strict=True)
        }


@lru_cache(maxsize=8)  # asked by every check that scores in arrays
def cut(threshold: float) -> float:
    """The lowest unrounded score that rounds (as Python's round(v, 4), the check on save's) to
    at least the threshold: an array or compiled loop compares with it and decides as the check."""
    import struct

    def bits(v: float) -> int:
        return int(struct.unpack("<q", struct.pack("<d", v))[0])

    def number(i: int) -> float:
        return float(struct.unpack("<d", struct.pack("<q", i))[0])

    low = max(threshold - 0.01, 0.0)
    if round(low, 4) >= threshold:
        return -np.inf
    # Non-negative doubles order as their bit patterns: a bisection over the doubles between.
    lo, hi = bits(low), bits(threshold + 0.01)
    while hi - lo > 1:
        middle = (lo + hi) // 2
        lo, hi = (lo, middle) if round(number(middle), 4) >= threshold else (middle, hi)
    return number(hi)


def strongest(
    table: Table,
    keep: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
    budget: float | None = None,
    stats: dict[str, int] | None = None,
    workers: int | None = None,
) -> tuple[Found, bool]:
    """The pairs kept: each activity's `keep` strongest at the threshold (a pair stays when either
    of its two keeps it); and whether the search finished (False when `budget` seconds ran out)."""
    best, finished = search(table, keep, progress, budget, stats, workers)
    return best.pairs(table.pk), finished


def search(
    table: Table,
    keep: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
    budget: float | None = None,
    stats: dict[str, int] | None = None,
    workers: int | None = None,
) -> tuple[Strongest, bool]:
    """`strongest`, its pairs not yet gathered: the table can go first (memory; `find_all`).

    The blocks are cut into pieces (`plan`) swept by `workers` threads (OVERLAP_WORKERS; the
    compiled loop lets go of Python's lock), each taking the next piece as it finishes its last
    and keeping its own strongest, merged at the end: a pair is compared in one piece only, so by
    one worker only, and what each keeps holds every activity's strongest among the pairs it
    compared."""
    import threading
    import time

    from .sweep import merge, reach

    weights = settings.OVERLAP_WEIGHTS
    threshold = settings.OVERLAP_THRESHOLD
    figures = np.array(
        [weights[part] for part in ("states", "months", "areas", "instruments", "modality", "text")]
        # The bound: a hair under the cut (a sum in another order may differ in its last bit).
        + [cut(threshold), cut(threshold) - 1e-6],
        dtype=np.float64,
    )
    # The blocks and their pieces first: their working arrays are gone before the strongest
    # pairs' are made (peak memory).
    rows, block_of, starts, width = blocks(table)
    ends = np.r_[starts[1:], len(rows)]
    block_ids = block_of[starts]
    del block_of
    partners = reach(table.start[rows], table.end[rows], starts, ends)
    pieces = plan(partners, starts, ends, block_ids)
    keep = keep or settings.OVERLAP_KEEP
    count = max(1, min(workers or settings.OVERLAP_WORKERS, len(pieces)))
    bests = [Strongest(len(table.pk), keep) for _ in range(count)]
    began = time.monotonic()
    lock = threading.Lock()
    state = {"next": 0, "done": 0, "compared": 0, "stopped": False}

    failed: list[BaseException] = []

    def work(best: Strongest) -> None:
        try:
            sweep_with(best)
        except BaseException as error:  # told in the caller's thread, after the others stop
            with lock:
                state["stopped"] = True
                failed.append(error)

    def sweep_with(best: Strongest) -> None:
        t = table
        while True:
            with lock:
                if budget is not None and time.monotonic() - began > budget:
                    state["stopped"] = True
                if state["stopped"] or state["next"] >= len(pieces):
                    return
                index = state["next"]
                state["next"] = index + 1
            part = pieces.segments(index)
            compared = sweep(
                rows, partners, pieces.first[part], pieces.stop[part], pieces.end[part],
                pieces.block[part], width,
                t.start_month, t.end_month, t.group, t.modality,
                t.states, t.n_states, t.areas, t.n_areas, t.dac, t.instruments, t.n_instruments,
                t.text, t.n_text, t.key_words, figures, best.value, best.partner,
            )  # fmt: skip
            with lock:
                state["compared"] += int(compared)
                state["done"] += 1
                if progress:
                    progress(state["done"], len(pieces))

    from .sweep import sweep

    threads = [threading.Thread(target=work, args=(best,)) for best in bests[1:]]
    for thread in threads:
        thread.start()
    work(bests[0])
    for thread in threads:
        thread.join()
    if failed:
        raise failed[0]
    best = bests[0]
    for other in bests[1:]:
        merge(best.value, best.partner, other.value, other.partner)
        del other.value, other.partner
    if stats is not None:
        stats["compared"] = stats.get("compared", 0) + state["compared"]
    return best, not state["stopped"]


def _among(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Whether each value is one of `sorted_keys` (sorted ascending)."""
    if not len(sorted_keys):
        return np.zeros(len(values), dtype=bool)
    at = np.searchsorted(sorted_keys, values).clip(max=len(sorted_keys) - 1)
    return sorted_keys[at] == values


def _kept_pairs() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pairs kept now, sorted by their key: keys, row keys, reviewed or not, scores. Read in
    the order of the pair's index, which is the keys' order, into arrays made to the count (memory:
    nine million pairs are 230 MB, no copy of them)."""
    from django.db import connection

    size = Overlap.objects.count()
    arrays = Kept(
        np.empty(size, dtype=np.int64),
        np.empty(size, dtype=np.int64),
        np.empty(size, dtype=bool),
        np.empty(size, dtype=np.float64),
    )
    if connection.vendor == "postgresql":
        _kept_by_copy(arrays)
        return arrays.done()
    rows = iter(
        Overlap.objects.values_list("pk", "first_id", "second_id", "verdict", "score")
        .order_by("first_id", "second_id")
        .iterator(chunk_size=20_000)
    )
    for chunk in iter(lambda: list(islice(rows, 20_000)), []):
        pk, first, second, verdict, score = zip(*chunk, strict=True)
        arrays.add(
            _pair_key(np.array(first, dtype=np.int64), np.array(second, dtype=np.int64)),
            np.array(pk, dtype=np.int64),
            np.array([bool(v) for v in verdict], dtype=bool),
            np.array(score, dtype=np.float64),
        )
    return arrays.done()


@dataclass
class Kept:
    """Arrays of the pairs kept, filled a chunk at a time (_kept_pairs)."""

    keys: np.ndarray
    pks: np.ndarray
    reviewed: np.ndarray
    scores: np.ndarray
    filled: int = 0

    def add(self, keys: np.ndarray, pks: np.ndarray, reviewed: np.ndarray, scores: np.ndarray) -> None:
        end = self.filled + len(keys)
        if end > len(self.keys):  # pairs added since the count (a save meanwhile)
            self.keys, self.pks, self.reviewed, self.scores = (
                np.resize(a, end) for a in (self.keys, self.pks, self.reviewed, self.scores)
            )
        self.keys[self.filled : end], self.pks[self.filled : end] = keys, pks
        self.reviewed[self.filled : end], self.scores[self.filled : end] = reviewed, scores
        self.filled = end

    def done(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        n = self.filled
        return self.keys[:n], self.pks[:n], self.reviewed[:n], self.scores[:n]


#: A kept pair as COPY sends it in binary form (see COPY_ROW): its key, its two activities,
#: whether it was reviewed, its score. Every field is of a fixed width and never empty.
KEPT_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("n_pk", ">i4"),
        ("pk", ">i8"),
        ("n_first", ">i4"),
        ("first", ">i8"),
        ("n_second", ">i4"),
        ("second", ">i8"),
        ("n_reviewed", ">i4"),
        ("reviewed", "?"),
        ("n_score", ">i4"),
        ("score", ">f8"),
    ]
)


def _kept_by_copy(arrays: Kept) -> None:
    """The pairs kept, on PostgreSQL: by binary COPY, read as numbers by numpy (`_copied`: a Python
    object for each of millions of values took 23 s of a second run's 68 s over 5.8 million
    pairs)."""
    from django.db import connection

    table = connection.ops.quote_name(Overlap._meta.db_table)
    sql = (
        f"COPY (SELECT id, first_id, second_id, verdict <> '', score FROM {table}"
        " ORDER BY first_id, second_id) TO STDOUT (FORMAT BINARY)"
    )
    for rows in _copied(sql, KEPT_ROW, "the pairs kept"):
        arrays.add(
            _pair_key(rows["first"].astype(np.int64), rows["second"].astype(np.int64)),
            rows["pk"].astype(np.int64),
            rows["reviewed"],
            rows["score"].astype(np.float64),
        )


def _copied(sql: str, row: np.dtype, what: str, block: int = 8 << 20) -> Iterator[np.ndarray]:
    """The rows a binary COPY ... TO STDOUT sends (PostgreSQL), `row` being their fixed-width
    layout (see COPY_ROW), a few megabytes of them at a time as numpy arrays; `what` names them
    in an error."""
    from django.db import connection

    fields = len(row.names) // 2
    waiting = bytearray()
    header = True
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for data in copy:
            waiting += data
            if header and len(waiting) >= len(COPY_HEADER):
                # The signature (11 bytes), flags, and the length of a header extension (none yet),
                # which is passed over.
                extension = int.from_bytes(waiting[15:19], "big")
                if len(waiting) < len(COPY_HEADER) + extension:
                    continue
                del waiting[: len(COPY_HEADER) + extension]
                header = False
            if not header and len(waiting) >= block:
                yield _whole_rows(waiting, row, fields, what)
    if waiting[-2:] == COPY_TRAILER:
        del waiting[-2:]
    yield _whole_rows(waiting, row, fields, what)
    if waiting:
        raise ValueError(f"COPY of {what} ended within a row ({len(waiting)} bytes left)")


def _whole_rows(waiting: bytearray, row: np.dtype, fields: int, what: str) -> np.ndarray:
    whole = len(waiting) // row.itemsize * row.itemsize
    rows = np.frombuffer(bytes(waiting[:whole]), dtype=row)
    del waiting[:whole]
    if len(rows) and not (rows["fields"] == fields).all():
        raise ValueError(f"COPY of {what} sent rows of another shape")
    return rows


def write(
    found: Found,
    drop_others: bool = True,
    progress: Callable[[str, int, int], Any] | None = None,
    chunk: int = 5000,
) -> dict[str, int]:
    """Keep the pairs found, in bulk and with history: new ones added with their score (explained
    when shown: models.Overlap.shown_reasons), those whose score moved brought up to date, reviewed
    ones rescored and explained whatever their score; with `drop_others`, the unreviewed pairs no
    longer found go. Pairs are matched in sorted arrays, never in a dictionary of millions."""
    keys, pks, reviewed, scores = _kept_pairs()
    if len(keys):
        at = np.searchsorted(keys, found.keys).clip(max=len(keys) - 1)
        known = keys[at] == found.keys
    else:
        at, known = np.zeros(len(found), dtype=np.int64), np.zeros(len(found), dtype=bool)
    # An activity deleted since the signatures were read takes its pairs with it.
    new = ~known & _still_there(found.keys)
    added = _write_new(found.keys[new], found.scores[new], progress, len(keys))
    # Known, never reviewed, scored otherwise now: the new score, and its reasons to be explained
    # again when shown. (A reviewed pair is rescored below, whatever it scores.)
    if len(keys):
        moved = known & ~reviewed[at] & (scores[at] != found.scores)
        changed = _rescore(pks[at[moved]], found.scores[moved], chunk)
    else:
        changed = 0
    changed += _explain_reviewed(keys[reviewed], pks[reviewed], chunk)
    dropped = 0
    if drop_others:
        # Both sorted: a binary search each (np.isin sorts both together, some 600 MB for nine
        # million pairs each side).
        stale = pks[~reviewed & ~_among(keys, found.keys)].tolist()
        for start in range(0, len(stale), chunk):
            with transaction.atomic():
                dropped += (
                    Overlap.objects.filter(pk__in=stale[start : start + chunk])
                    .delete()[1]
                    .get(Overlap._meta.label, 0)
                )
    return {"added": added, "changed": changed, "dropped": dropped}


def _still_there(keys: np.ndarray) -> np.ndarray:
    """Whether both activities of each pair (_pair_key) still exist."""
    ids = _activity_keys()
    first, second = keys >> 32, keys & 0xFFFFFFFF
    if not len(ids) or ids[-1] > 16 * len(ids) + (1 << 20):
        return _among(first, ids) & _among(second, ids)
    # A flag for every key up to the largest (a byte each: megabytes): two lookups a pair, where
    # two binary searches among a million keys for each of millions of pairs took seconds.
    there = np.zeros(int(ids[-1]) + 2, dtype=bool)
    there[ids] = True
    # A key past the largest (an activity deleted since) reads the last flag, which is never set.
    return there[np.minimum(first, len(there) - 1)] & there[np.minimum(second, len(there) - 1)]


def _activity_keys() -> np.ndarray:
    """Every activity's key, ascending. On PostgreSQL as one value, the keys' eight bytes each end
    to end, read and sorted by numpy: a million in 0.35-0.7 s, where Django's cursor (a Python
    object a key) took 0.5-1.7 s and COPY (a message a row) 2-2.8 s."""
    from django.db import connection

    from coopmatrix.matrix.models import Activity

    if connection.vendor != "postgresql":
        return np.fromiter(
            Activity.objects.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=50_000),
            dtype=np.int64,
        )
    table = connection.ops.quote_name(Activity._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT string_agg(int8send(id), '') FROM {table}")
        keys = cursor.fetchone()[0]
    return np.sort(np.frombuffer(keys or b"", dtype=">i8").astype(np.int64))


#: New pairs written in one transaction (SQLite), or sent to PostgreSQL in one piece (memory).
NEW_CHUNK = 100_000
#: COPY's binary format (PostgreSQL's documentation, "COPY", "Binary Format"): a header, then for
#: each row its count of fields and each field's length and value, big-endian; a trailer. A new
#: pair's row, as `_add_all` writes it: every field but its key, the pair and its score is the same
#: for all.
COPY_HEADER, COPY_TRAILER = b"PGCOPY\n\xff\r\n\x00" + bytes(8), b"\xff\xff"
COPY_COLUMNS = ("id", "first_id", "second_id", "score", "found", "scored")
#: The fields a new pair takes from the database's defaults (models.Overlap: no reasons yet, no
#: verdict, no comment, to review): the server receives no value of them for each row.
DEFAULT_COLUMNS = ("reasons", "verdict", "comment", "to_review")
COPY_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("n_id", ">i4"),
        ("id", ">i8"),
        ("n_first", ">i4"),
        ("first", ">i8"),
        ("n_second", ">i4"),
        ("second", ">i8"),
        ("n_score", ">i4"),
        ("score", ">f8"),
        # timestamptz: microseconds since 2000-01-01 UTC.
        ("n_found", ">i4"),
        ("found", ">i8"),
        ("n_scored", ">i4"),
        ("scored", ">i8"),
    ]
)
_POSTGRES_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _write_new(
    keys: np.ndarray, scores: np.ndarray, progress: Callable[[str, int, int], Any] | None, kept: int
) -> int:
    from django.db import connection

    if connection.vendor == "postgresql":
        with transaction.atomic():
            _add_all(keys, scores, progress, kept)
        return len(keys)
    for start in range(0, len(keys), NEW_CHUNK):
        part = keys[start : start + NEW_CHUNK]
        with transaction.atomic():
            _add(
                (part >> 32).tolist(),
                (part & 0xFFFFFFFF).tolist(),
                scores[start : start + NEW_CHUNK].tolist(),
            )
        if progress:
            progress("kept", min(start + NEW_CHUNK, len(keys)), len(keys))
    return len(keys)


def _add_all(
    keys: np.ndarray, scores: np.ndarray, progress: Callable[[str, int, int], Any] | None, kept: int
) -> None:
    """New pairs on PostgreSQL, to review, without reasons yet, with their history rows ("+",
    now, by no one: the console found them), in the caller's transaction. The pairs go into
    their table by binary COPY, made from the arrays (no Python object per pair), in the order
    found, which is the pairs' own (first, second): the table is laid out as its pair index reads
    it. Their history rows are then made from them by one statement. Both tables' keys are taken
    from their sequences as one range each and written with the rows: a key drawn for each row
    cost a fifth of the COPY. A write that at least doubles a table (a first computation: millions
    of pairs) sets its indexes aside and makes them again after (core.bulk.indexes_set_aside)."""
    from django.db import connection
    from django.utils import timezone

    from coopmatrix.core import bulk, public_cache

    if not len(keys):
        return
    history = Overlap.history.model  # type: ignore[attr-defined]
    table, past = Overlap._meta.db_table, history._meta.db_table
    aside = [Overlap] if kept < len(keys) else []
    if bulk.holds_fewer(history, len(keys)):
        aside.append(history)
    stamp = timezone.now()
    rows = np.empty(min(len(keys), NEW_CHUNK), dtype=COPY_ROW)
    rows["fields"] = len(COPY_COLUMNS)
    rows["n_first"], rows["n_second"], rows["n_score"], rows["n_found"], rows["n_scored"] = 8, 8, 8, 8, 8
    rows["n_id"] = 8
    rows["found"] = rows["scored"] = (stamp - _POSTGRES_EPOCH) // dt.timedelta(microseconds=1)
    columns = ", ".join(COPY_COLUMNS)
    copied = ", ".join([*COPY_COLUMNS, *DEFAULT_COLUMNS])
    with bulk.indexes_set_aside(*aside), connection.cursor() as cursor:
        # Nobody else adds pairs, nor so their history rows, until this transaction ends.
        cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        first = _keys_taken(cursor, table, "id", len(keys))
        first_past = _keys_taken(cursor, past, "history_id", len(keys))
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(COPY_HEADER)
            for start in range(0, len(keys), len(rows)):
                part, chunk = keys[start : start + len(rows)], rows[: len(keys) - start]
                chunk["id"] = np.arange(first + start, first + start + len(chunk))
                chunk["first"], chunk["second"] = part >> 32, part & 0xFFFFFFFF
                chunk["score"] = scores[start : start + len(rows)]
                copy.write(chunk.tobytes())
                if progress:
                    progress("kept", start + len(chunk), len(keys))
            copy.write(COPY_TRAILER)
        cursor.execute(
            f"INSERT INTO {past} (history_id, {copied}, reviewed_by_id, reviewed_at, verdict_score,"
            f" history_date, history_change_reason, history_type, history_user_id) SELECT id + %s,"
            f" {copied}, reviewed_by_id, reviewed_at, verdict_score, %s, NULL, '+', NULL FROM {table}"
            " WHERE id BETWEEN %s AND %s",
            [first_past - first, stamp, first, first + len(keys) - 1],
        )
    # COPY goes past the execute wrapper that sees writes: cached public answers must not outlive it.
    public_cache.changed(connection)


def _keys_taken(cursor: Any, table: str, column: str, count: int) -> int:
    """The first of `count` keys taken from the sequence of `table`'s `column` as one range (the
    caller holds the table: nobody else draws from it meanwhile); never a key given before, even
    to a row since deleted, whose history still names it. (core.bulk.insert_values draws a key a row:
    it holds no table, and a range taken so could be drawn from meanwhile.)"""
    cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s))", [table, column])
    first = cursor.fetchone()[0]
    cursor.execute("SELECT setval(pg_get_serial_sequence(%s, %s), %s)", [table, column, first + count - 1])
    return first


def _rescore(rows: np.ndarray, values: np.ndarray, chunk: int) -> int:
    """Unreviewed pairs (by row key) given their new scores, their reasons emptied, with history."""
    from simple_history.utils import bulk_update_with_history

    changed = 0
    for start in range(0, len(rows), chunk):
        score_of = dict(
            zip(rows[start : start + chunk].tolist(), values[start : start + chunk].tolist(), strict=True)
        )
        overlaps = list(Overlap.objects.filter(pk__in=list(score_of)))
        for overlap in overlaps:
            overlap.score, overlap.reasons, overlap.to_review = score_of[overlap.pk], [], True
        with transaction.atomic():
            bulk_update_with_history(overlaps, Overlap, ["score", "reasons", "to_review"], batch_size=1000)
        changed += len(overlaps)
    return changed


def _explain_reviewed(keys: np.ndarray, rows: np.ndarray, chunk: int) -> int:
    """Pairs a reviewer gave a verdict on (a few, however many the machine finds): scored and
    explained again, asked again when the score moved past the margin."""
    from simple_history.utils import bulk_update_with_history

    from .engine import reasons_of, weights
    from .scoring import score

    codes, reader = signatures.Codes.now(), signatures.Reader.now()
    changed = 0
    for start in range(0, len(keys), chunk):
        row_of = {
            (key >> 32, key & 0xFFFFFFFF): row
            for key, row in zip(
                keys[start : start + chunk].tolist(), rows[start : start + chunk].tolist(), strict=True
            )
        }
        described = signatures.described({pk for pair in row_of for pk in pair}, codes, reader.open_end)
        kept = Overlap.objects.in_bulk(list(row_of.values()))
        moved = []
        for (first, second), row in row_of.items():
            overlap = kept.get(row)
            if overlap is None or first not in described or second not in described:
                continue
            candidate = score(described[first], described[second], weights())
            reasons = reasons_of(candidate)
            to_review = Overlap.needs_review(overlap.verdict, overlap.verdict_score, candidate.score)
            if (overlap.score, overlap.reasons, overlap.to_review) != (candidate.score, reasons, to_review):
                overlap.score, overlap.reasons, overlap.to_review = candidate.score, reasons, to_review
                moved.append(overlap)
        with transaction.atomic():
            bulk_update_with_history(moved, Overlap, ["score", "reasons", "to_review"], batch_size=1000)
        changed += len(moved)
    return changed


def _add(first: list[int], second: list[int], values: list[float]) -> None:
    """New pairs, to review, without reasons yet, with their history rows ("+", now, by no one:
    the console found them), through simple_history's bulk path (databases other than
    PostgreSQL: `_add_all`)."""
    from simple_history.utils import bulk_create_with_history

    rows = [
        Overlap(first_id=a, second_id=b, score=value, reasons=[], to_review=True)
        for a, b, value in zip(first, second, values, strict=True)
    ]
    bulk_create_with_history(rows, Overlap, batch_size=1000)

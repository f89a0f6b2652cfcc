"""How alike two activities are, as a score from 0 to 1 with the reasons a person can check.

Pure functions over a plain description of each activity, so that the full computation, the
check on every save and the tests share them.

Each part scores from 0 to 1 and carries a weight (OVERLAP_WEIGHTS); the score is their weighted
mean. Text is compared by character trigrams, which match across the matrix's languages where
words do not ("terrorisme"/"terrorism", "financement"/"financing"): each trigram sets one bit of a
1,024-bit fingerprint, and two texts are as alike as Dice's coefficient of their fingerprints (the
Bloom-filter encoding record linkage uses; with some sixty trigrams a text, two rarely share a bit
by chance). A fingerprint is a small integer to keep and compare, so a million activities can be
compared without reading their text again.

`Packed` is the same description in bit masks (States, areas, instruments by key) for the checks
that compare one activity with thousands (`quick`): it gives exactly the score `score` gives.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

DEFAULT_WEIGHTS: Mapping[str, float] = {
    "states": 0.25,
    "months": 0.20,
    "areas": 0.15,
    "instruments": 0.10,
    "modality": 0.10,
    "text": 0.20,
}


@dataclass(frozen=True)
class Described:
    """What the score reads of an activity."""

    pk: int
    title: str
    description: str = ""
    states: frozenset[str] = frozenset()
    areas: frozenset[str] = frozenset()
    #: The OECD DAC purpose codes of its areas: two areas of one purpose count as a shared field.
    dac: frozenset[str] = frozenset()
    instruments: frozenset[str] = frozenset()
    providers: frozenset[str] = frozenset()
    programme: str | None = None
    modality: str = ""
    start: dt.date | None = None
    end: dt.date | None = None
    #: Its text's fingerprint when already known (its signature's): else computed from the text.
    text_bits: int | None = None

    @property
    def fingerprint(self) -> int:
        if self.text_bits is not None:
            return self.text_bits
        return fingerprint(f"{self.title} {self.description}")


@dataclass(frozen=True)
class Reason:
    part: str
    value: float
    weight: float
    words: str

    @property
    def points(self) -> float:
        return self.value * self.weight


@dataclass(frozen=True)
class Candidate:
    a: int
    b: int
    score: float
    reasons: list[Reason] = field(default_factory=list)

    def explanation(self) -> list[str]:
        """One line per reason: what it found, its weight, what it added."""
        return [f"{r.words} — {r.value:.2f} × {r.weight:.2f} = {r.points:.2f}" for r in self.reasons]


def are_candidates(a: Described, b: Described) -> bool:
    """A State in common, periods that meet, a thematic area or a DAC purpose code in common, and
    different providers or the same provider under different programmes."""
    if a.pk == b.pk or not (a.states & b.states) or not (a.areas & b.areas or a.dac & b.dac):
        return False
    if not _periods_meet(a, b):
        return False
    return a.providers != b.providers or a.programme != b.programme


def score(a: Described, b: Described, weights: Mapping[str, float] = DEFAULT_WEIGHTS) -> Candidate:
    reasons = [
        _share("states", a.states, b.states, "States in common", weights),
        _months(a, b, weights),
        _areas(a, b, weights),
        _instruments(a, b, weights),
        Reason(
            "modality",
            1.0 if a.modality and a.modality == b.modality else 0.0,
            weights["modality"],
            f"modality {a.modality or '—'} / {b.modality or '—'}",
        ),
        _text(a, b, weights),
    ]
    total = sum(r.weight for r in reasons) or 1.0
    value = round(sum(r.points for r in reasons) / total, 4)
    return Candidate(min(a.pk, b.pk), max(a.pk, b.pk), value, reasons)


def _share(
    part: str, first: frozenset[str], second: frozenset[str], label: str, weights: Mapping[str, float]
) -> Reason:
    common = first & second
    smaller = min(len(first), len(second))
    value = len(common) / smaller if smaller else 0.0
    shown = ", ".join(sorted(common)) or "none"
    return Reason(part, value, weights[part], f"{label}: {shown} ({len(common)} of {smaller})")


def _instruments(a: Described, b: Described, weights: Mapping[str, float]) -> Reason:
    if a.instruments and b.instruments:
        return _share("instruments", a.instruments, b.instruments, "instruments in common", weights)
    # Not recorded on one of them: unknown, not a difference; the part is left out of the mean.
    return Reason("instruments", 0.0, 0.0, "instruments not recorded on both: not counted")


def _areas(a: Described, b: Described, weights: Mapping[str, float]) -> Reason:
    shared = _share("areas", a.areas, b.areas, "thematic areas in common", weights)
    if shared.value or not (a.dac & b.dac):
        return shared
    # Different areas under one DAC purpose: the same field of work, counted half.
    codes = ", ".join(sorted(a.dac & b.dac))
    return Reason("areas", 0.5, weights["areas"], f"no thematic area in common; DAC purpose code {codes}")


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _periods_meet(a: Described, b: Described) -> bool:
    if not (a.start and a.end and b.start and b.end):
        return False
    return a.start <= b.end and b.start <= a.end


def _months(a: Described, b: Described, weights: Mapping[str, float]) -> Reason:
    if not _periods_meet(a, b):
        return Reason("months", 0.0, weights["months"], "periods do not meet")
    assert a.start and a.end and b.start and b.end
    overlap = _month_index(min(a.end, b.end)) - _month_index(max(a.start, b.start)) + 1
    shorter = (
        min(_month_index(a.end) - _month_index(a.start), _month_index(b.end) - _month_index(b.start)) + 1
    )
    value = min(1.0, overlap / shorter)
    return Reason(
        "months", value, weights["months"], f"{overlap} month(s) in common of the shorter period's {shorter}"
    )


def _folded(text: str) -> str:
    if text.isascii():
        return text.lower()  # nothing to decompose or drop: the same result, without the loop
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


FINGERPRINT_BITS = 1024


# An activity is compared with many others in one check: its text is read once.
@lru_cache(maxsize=20_000)
def fingerprint(text: str) -> int:
    """The text's character trigrams (accents and case folded), one bit each."""
    bits = 0
    for word in re.findall(r"\w+", _folded(text)):
        padded = f" {word} "
        for i in range(len(padded) - 2):
            # crc32, not hash(): the same bit in every process and on every machine.
            bits |= 1 << (zlib.crc32(padded[i : i + 3].encode()) % FINGERPRINT_BITS)
    return bits


def dice(first: int, second: int) -> float:
    """Dice's coefficient of two fingerprints: shared bits against both texts' own."""
    own = first.bit_count() + second.bit_count()
    return 2 * (first & second).bit_count() / own if first and second else 0.0


@lru_cache(maxsize=20_000)
def _words(text: str) -> frozenset[str]:
    return frozenset(w for w in re.findall(r"\w+", _folded(text)) if len(w) >= 4)


def _text(a: Described, b: Described, weights: Mapping[str, float]) -> Reason:
    value = dice(a.fingerprint, b.fingerprint)
    matched = sorted(_words(f"{a.title} {a.description}") & _words(f"{b.title} {b.description}"))
    shown = ", ".join(matched[:8]) or "no word in common"
    return Reason("text", value, weights["text"], f"title and description alike (words: {shown})")


def candidates(
    described: Iterable[Described], weights: Mapping[str, float] = DEFAULT_WEIGHTS
) -> list[Candidate]:
    """Every candidate pair among these activities, by score (quadratic: for tests and the
    labelled set; the database's computation narrows by State, area and period first)."""
    items = list(described)
    found = [
        score(a, b, weights) for i, a in enumerate(items) for b in items[i + 1 :] if are_candidates(a, b)
    ]
    return sorted(found, key=lambda c: (-c.score, c.a, c.b))


# --- the same score over bit masks, for the checks that compare one activity with thousands ---


@dataclass(frozen=True, slots=True)
class Packed:
    """An activity as `Described`, its sets as bit masks by key (State, area, instrument), its
    period as day numbers and month indexes, its text as its fingerprint."""

    pk: int
    states: int
    areas: int
    #: One bit per DAC purpose code its areas carry.
    dac: int
    instruments: int
    providers: str
    programme: str | None
    modality: str
    start: int | None  # date.toordinal()
    end: int | None
    start_month: int
    end_month: int
    text: int


def pack(
    pk: int,
    *,
    states: int,
    areas: int,
    dac: int,
    instruments: int,
    providers: Iterable[str],
    programme: str | None,
    modality: str,
    start: dt.date | None,
    end: dt.date | None,
    text: int,
) -> Packed:
    return Packed(
        pk,
        states,
        areas,
        dac,
        instruments,
        " ".join(sorted(providers)),
        programme,
        modality or "",
        start.toordinal() if start else None,
        end.toordinal() if end else None,
        _month_index(start) if start else 0,
        _month_index(end) if end else 0,
        text,
    )


def quick(a: Packed, b: Packed, weights: Mapping[str, float] = DEFAULT_WEIGHTS) -> float | None:
    """`score(a, b).score` when `are_candidates(a, b)`, else None; the same arithmetic in the same
    order, so that both give the same figure to the last digit (tests hold them to it)."""
    value = unrounded(a, b, weights)
    return None if value is None else round(value, 4)


def unrounded(a: Packed, b: Packed, weights: Mapping[str, float] = DEFAULT_WEIGHTS) -> float | None:
    """The score before it is rounded: pairs are ranked by it (the full computation's arrays give
    the very same number, where their rounding would not)."""
    if a.pk == b.pk or not (a.states & b.states) or not (a.areas & b.areas or a.dac & b.dac):
        return None
    if a.start is None or a.end is None or b.start is None or b.end is None:
        return None
    if not (a.start <= b.end and b.start <= a.end):
        return None
    if a.providers == b.providers and a.programme == b.programme:
        return None
    smaller = min(a.states.bit_count(), b.states.bit_count())
    states = (a.states & b.states).bit_count() / smaller
    overlap = min(a.end_month, b.end_month) - max(a.start_month, b.start_month) + 1
    months = min(1.0, overlap / (min(a.end_month - a.start_month, b.end_month - b.start_month) + 1))
    smaller = min(a.areas.bit_count(), b.areas.bit_count())
    areas = (a.areas & b.areas).bit_count() / smaller if smaller else 0.0
    if not areas and a.dac & b.dac:
        areas = 0.5
    if a.instruments and b.instruments:
        smaller = min(a.instruments.bit_count(), b.instruments.bit_count())
        instruments, instruments_weight = (
            (a.instruments & b.instruments).bit_count() / smaller,
            weights["instruments"],
        )
    else:
        instruments, instruments_weight = 0.0, 0.0
    modality = 1.0 if a.modality and a.modality == b.modality else 0.0
    text = dice(a.text, b.text)
    # As sum() adds the reasons' points and weights in score(): from 0, in the same order.
    points = 0
    points += states * weights["states"]
    points += months * weights["months"]
    points += areas * weights["areas"]
    points += instruments * instruments_weight
    points += modality * weights["modality"]
    points += text * weights["text"]
    total = 0
    for weight in (weights["states"], weights["months"], weights["areas"], instruments_weight):
        total += weight
    total += weights["modality"]
    total += weights["text"]
    return points / (total or 1.0)

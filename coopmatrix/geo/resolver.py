"""Turn what a document or a file calls a State into a State record.

Every importer goes through here, so that "Cape Verde", "CPV", "CV", "132" and "Cabo Verde" all
reach the same record, historic States ("Yugoslavia") reach their historic record, and a name
nobody knows is an error that names the input and the closest matches, never a silent guess.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import State

# Phrases documents put before a State's name that say what it is, not which it is:
# "the crown dependencies of Guernsey and the Isle of Man" (seed report, paragraph 22).
_QUALIFIERS = ("crown dependencies of ", "crown dependency of ")


class UnknownState(LookupError):
    """No State answers to a name or code; `suggestions` holds the closest known names."""

    def __init__(self, text: str, suggestions: list[str], reason: str = "") -> None:
        self.text = text
        self.suggestions = suggestions
        hint = f"; closest matches: {', '.join(suggestions)}" if suggestions else ""
        super().__init__(reason or f"unknown State {text!r}{hint}")


class AmbiguousState(UnknownState):
    """A name fits several States; `suggestions` names them."""

    def __init__(self, text: str, candidates: list[str]) -> None:
        super().__init__(
            text,
            candidates,
            f"{text!r} could be any of: {', '.join(candidates)}; write a code or a fuller name",
        )


class UncertainState(UnknownState):
    """A name read only by a spelling pattern or as a close spelling: it must be shown and
    confirmed by a person, never assumed. `reading` says what it was read as."""

    def __init__(self, reading: Reading) -> None:
        self.reading = reading
        super().__init__(
            reading.text,
            [reading.state.name_en],
            f"{reading.text!r} is not a name coopmatrix knows; did you mean {reading.state.name_en} "
            f"({reading.state.code})? Write that name or its code",
        )


class StateNotThen(UnknownState):
    """A historic State named on a date after it ceased to exist (Zaire in 2003)."""


@dataclass(frozen=True)
class Reading:
    """How a text was read as a State: by "code", "name" (or a known alias), a spelling
    "pattern", or a "close" spelling. The last two are shown to a person before they count."""

    text: str
    state: State
    how: str

    @property
    def uncertain(self) -> bool:
        return self.how in ("pattern", "close")

    @property
    def note(self) -> str:
        why = {"pattern": "a spelling pattern", "close": "a close spelling"}.get(self.how, self.how)
        return f"read {self.text!r} as {self.state.name_en} ({self.state.code}), by {why}"


#: Words that may stand around a State's name without changing which State it is ("Republic of
#: Korea", "the Kingdom of Spain"); any other word left over by a spelling pattern ("New" in
#: "New Jersey", "South" in "South Yemen") means the pattern found a different place.
_GENERIC_WORDS = frozenset(
    [
        "the",
        "of",
        "and",
        "republic",
        "kingdom",
        "state",
        "states",
        "democratic",
        "peoples",
        "people",
        "federal",
        "federation",
        "united",
        "islamic",
        "arab",
        "socialist",
        "union",
        "islands",
        "island",
        "commonwealth",
        "principality",
        "grand",
        "duchy",
        "sultanate",
        "plurinational",
        "bolivarian",
        "independent",
        "sovereign",
        "territory",
        "government",
    ]
)


def normalize(text: str) -> str:
    """Fold case, accents, apostrophes, punctuation and a leading "the" for comparison."""
    text = re.sub(r"\s*\(the\)\s*$", "", text.strip(), flags=re.IGNORECASE)  # ISO's "Bahamas (the)"
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold().replace("’", "'").replace("'", "")
    text = re.sub(r"[^\w]+", " ", text).strip()
    text = re.sub(r"^the ", "", text)
    for qualifier in _QUALIFIERS:
        if text.startswith(qualifier):
            text = text[len(qualifier) :]
            text = re.sub(r"^the ", "", text)
    return text


class StateResolver:
    """Loads every code, name and alias once; use one instance for a whole import."""

    def __init__(self, accept_uncertain: bool = False) -> None:
        """With `accept_uncertain` (an import's preview, which a person confirms), a name read by
        pattern or close spelling is taken and kept in `uncertain` to be shown; without, it is
        refused naming what it would have been read as (the API, forms)."""
        from .models import State, StateAlias

        self.accept_uncertain = accept_uncertain
        self.uncertain: list[Reading] = []
        self._states: dict[int, State] = {s.pk: s for s in State.objects.all()}
        self._by_code: dict[str, list[int]] = defaultdict(list)
        self._by_name: dict[str, set[int]] = defaultdict(set)
        self._patterns: list[tuple[re.Pattern[str], int]] = []
        for state in self._states.values():
            for code in (state.code, state.iso2, state.iso3, str(state.m49) if state.m49 else ""):
                if code:
                    self._by_code[code.upper()].append(state.pk)
            for name in (state.name_en, state.formal_name_en, state.name_fr, state.name_es):
                if name:
                    self._by_name[normalize(name)].add(state.pk)
            if state.name_pattern and not state.is_historic:
                self._patterns.append((re.compile(state.name_pattern, re.IGNORECASE), state.pk))
        for alias_state, alias in StateAlias.objects.values_list("state_id", "normalized"):
            self._by_name[alias].add(alias_state)

    def resolve(self, text: str, patterns: bool = True, on: dt.date | None = None) -> State:
        """The one State `text` stands for, known by code or name, that existed `on` that date;
        else UnknownState, AmbiguousState, StateNotThen, or UncertainState when it could only be
        read by a spelling pattern or a close spelling (see `read`).

        With `patterns` off, spelling patterns and close spellings are not tried at all.
        """
        reading = self.read(text, patterns=patterns, on=on)
        if reading.uncertain:
            if not self.accept_uncertain:
                raise UncertainState(reading)
            self.uncertain.append(reading)
        return reading.state

    def notes_since(self, start: int, where: str) -> list[str]:
        """The uncertain readings made since `len(uncertain)` was `start`, for a preview. Each is
        handed out once: they are let go here (with those of rows no one asked about, a row
        refused part-way), so that an import of a million names holds only the current row's."""
        notes = [f"{where}: {reading.note}; check it before confirming" for reading in self.uncertain[start:]]
        self.uncertain.clear()
        return notes

    def read(self, text: str, patterns: bool = True, on: dt.date | None = None) -> Reading:
        """How `text` reads as a State. A reading by pattern or close spelling is returned, not
        refused: the caller shows it to a person (an import's preview) before it counts."""
        raw = (text or "").strip()
        if not raw:
            raise UnknownState(text, [], "a State is required, but the value is empty")
        reading = self._read(raw, patterns)
        self._check_date(reading, on)
        return reading

    def _read(self, raw: str, patterns: bool) -> Reading:
        if re.fullmatch(r"(?:[A-Za-z]\.\s?){2,4}", raw):
            raw = re.sub(r"[.\s]", "", raw)  # "U.S.", "U.S.A." are the codes US, USA
        by_code = self._from_code(raw)
        if by_code is not None:
            return Reading(raw, by_code, "code")
        key = normalize(raw)
        exact = self._by_name.get(key)
        if exact:
            return Reading(raw, self._one(raw, exact), "name")
        if not patterns:
            raise UnknownState(raw, self.suggest(key))
        matched = {pk for pattern, pk in self._patterns if self._fits(pattern, key)}
        if matched:
            return Reading(raw, self._one(raw, matched), "pattern")
        close = self._close(key)
        if close is not None:
            return Reading(raw, close, "close")
        raise UnknownState(raw, self.suggest(key))

    @staticmethod
    def _fits(pattern: re.Pattern[str], key: str) -> bool:
        """A spelling pattern fits when what it leaves over is only generic words."""
        found = pattern.search(key)
        if not found:
            return False
        left = (key[: found.start()] + " " + key[found.end() :]).split()
        return all(word in _GENERIC_WORDS for word in left)

    def _close(self, key: str) -> State | None:
        """The one current State whose known name is spelt almost like `key` (a typo, a letter
        from another alphabet pasted from a PDF), or None."""
        best: dict[int, float] = {}
        for name in difflib.get_close_matches(key, list(self._by_name), n=10, cutoff=0.6):
            ratio = difflib.SequenceMatcher(None, key, name).ratio()
            for pk in self._by_name[name]:
                if not self._states[pk].is_historic:
                    best[pk] = max(best.get(pk, 0.0), ratio)
        ranked = sorted(best.items(), key=lambda item: -item[1])
        if not ranked or ranked[0][1] < 0.85:
            return None
        # Another State spelt nearly as close ("Virgin Islands": British or US?) is no reading.
        if len(ranked) > 1 and ranked[1][1] >= ranked[0][1] - 0.1:
            return None
        return self._states[ranked[0][0]]

    def _check_date(self, reading: Reading, on: dt.date | None) -> None:
        state = reading.state
        if on is None or not state.is_historic or state.ended is None:
            return
        # A State whose end is known only to the year existed until the year's last day.
        ended = state.ended
        if getattr(state, "ended_precision", "") == "year":
            ended = dt.date(ended.year, 12, 31)
        elif getattr(state, "ended_precision", "") == "month":
            following = dt.date(ended.year + ended.month // 12, ended.month % 12 + 1, 1)
            ended = following - dt.timedelta(days=1)
        if on > ended:
            successors = ", ".join(s.name_en for s in state.successors.all()) or "no successor recorded"
            raise StateNotThen(
                reading.text,
                [s.name_en for s in state.successors.all()],
                f"{reading.text!r} is {state.name_en}, which ceased to exist on "
                f"{state.ended_display}; on {on.isoformat()} it was: {successors}",
            )

    def resolve_many(self, text: str) -> list[State]:
        """States of a written list, splitting on commas and on "and" only where a name ends."""
        result: list[State] = []
        for part in re.split(r"[,;]", text):
            part = re.sub(r"^\s*and\s+", "", part.strip())
            if part:
                result.extend(self._resolve_run(part))
        return list(dict.fromkeys(result))

    def _resolve_run(self, part: str) -> list[State]:
        # "Sao Tome and Principe and Togo": try the longest run of "and"-joined pieces first,
        # so that names which contain "and" stay whole.
        pieces = re.split(r"\s+and\s+", part)
        found: list[State] = []
        start = 0
        while start < len(pieces):
            for end in range(len(pieces), start, -1):
                candidate = " and ".join(pieces[start:end])
                single = end == start + 1
                try:
                    # Spelling patterns would match "Benin and Togo" to both; joined pieces
                    # must be a known name as a whole.
                    found.append(self.resolve(candidate, patterns=single))
                except AmbiguousState:
                    if single:
                        raise
                    continue
                except UnknownState:
                    if single:
                        raise
                    continue
                start = end
                break
        return found

    def suggest(self, key: str, limit: int = 5) -> list[str]:
        close = difflib.get_close_matches(key, list(self._by_name), n=limit * 3, cutoff=0.6)
        names: list[str] = []
        for name in close:
            for pk in sorted(self._by_name[name]):
                label = self._states[pk].name_en
                if label not in names:
                    names.append(label)
        return names[:limit]

    def _from_code(self, raw: str) -> State | None:
        code = raw.upper()
        if not re.fullmatch(r"[A-Z]{2,4}|\d{1,3}", code):
            return None
        if code.isdigit():
            code = str(int(code))
        pks = self._by_code.get(code)
        if not pks:
            return None
        current = [pk for pk in pks if not self._states[pk].is_historic]
        # A code reused by a historic State ("CS" was Czechoslovakia and Serbia and Montenegro)
        # means the current State; a code only historic States carried must be unique.
        return self._one(raw, set(current or pks))

    def _one(self, raw: str, pks: set[int]) -> State:
        if len(pks) > 1:
            current = {pk for pk in pks if not self._states[pk].is_historic}
            if len(current) == 1:
                return self._states[current.pop()]
            raise AmbiguousState(raw, sorted(self._states[pk].name_en for pk in pks))
        return self._states[next(iter(pks))]


def resolve(text: str) -> State:
    return StateResolver().resolve(text)


def resolve_many(text: str) -> list[State]:
    return StateResolver().resolve_many(text)

"""Turn what a document or a file calls a State into a State record.

Every importer goes through here, so that "Cape Verde", "CPV", "CV", "132" and "Cabo Verde" all
reach the same record, historic States ("Yugoslavia") reach their historic record, and a name
nobody knows is an error that names the input and the closest matches, never a silent guess.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import defaultdict
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

    def __init__(self) -> None:
        from .models import State, StateAlias

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

    def resolve(self, text: str, patterns: bool = True) -> State:
        """The one State `text` stands for, or UnknownState / AmbiguousState.

        With `patterns` off, only codes and known names count (no spelling patterns).
        """
        raw = (text or "").strip()
        if not raw:
            raise UnknownState(text, [], "a State is required, but the value is empty")
        by_code = self._from_code(raw)
        if by_code is not None:
            return by_code
        key = normalize(raw)
        exact = self._by_name.get(key)
        if exact:
            return self._one(raw, exact)
        matched = {pk for pattern, pk in self._patterns if pattern.search(key)} if patterns else set()
        if matched:
            return self._one(raw, matched)
        raise UnknownState(raw, self.suggest(key))

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

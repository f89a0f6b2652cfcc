"""Who is party to what, as at any date, from the treaty actions the reader may see.

A State is party to an instrument as at D when its latest consent to be bound (ratification,
acceptance, approval, accession, succession) is on or before D and no denunciation taking effect
on or before D came after it; a signatory only when it signed on or before D without being party.
Dates are counted by deposit (as depositaries count, the default) or by the date the consent
takes effect for the State.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from .models import Instrument, PublishedCount, TreatyAction

BASES = ("deposit", "effect")
INSTRUMENT_SETS = ("2004", "all")


@dataclass
class Standing:
    """A State's standing towards one instrument as at a date."""

    party_since: dt.date | None = None  # the consent counted, by the chosen basis
    in_force_from: dt.date | None = None
    signed: dt.date | None = None
    consent: Any = None  # the TreatyAction that made it party

    @property
    def status(self) -> str:
        if self.party_since:
            return "party"
        return "signatory" if self.signed else "none"


def _when(action_row: dict[str, Any], basis: str) -> dt.date | None:
    return action_row["deposited"] if basis == "deposit" else action_row["effective"]


def standings(actions: QuerySet, on: dt.date, basis: str = "deposit") -> dict[tuple[int, int], Standing]:
    """{(state id, instrument id): Standing} as at `on`, for every pair with an action counted."""
    if basis not in BASES:
        raise ValueError(f"basis must be one of {', '.join(BASES)}, not {basis!r}")
    rows = actions.filter(action__in=(*TreatyAction.CONSENT, "denunciation", "signature")).values(
        "pk", "state_id", "instrument_id", "action", "deposited", "effective", "source"
    )
    events: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        when = _when(row, basis)
        if when is not None and when <= on:
            events[(row["state_id"], row["instrument_id"])].append({**row, "when": when})
    found: dict[tuple[int, int], Standing] = {}
    for pair, items in events.items():
        standing = Standing()
        # Same day: a signature before the consent, the consent before a denunciation.
        order = {"signature": 0, "denunciation": 2}
        for item in sorted(items, key=lambda i: (i["when"], order.get(i["action"], 1))):
            if item["action"] == "signature":
                standing.signed = standing.signed or item["when"]
            elif item["action"] == "denunciation":
                standing.party_since, standing.in_force_from, standing.consent = None, None, None
            elif standing.party_since is None:
                standing.party_since, standing.in_force_from = item["when"], item["effective"]
                standing.consent = item
        found[pair] = standing
    return found


def instruments_of(which: str, user: Any) -> QuerySet:
    """The 12 instruments of Table 2 (2004) or all 19, of those `user` may see."""
    if which not in INSTRUMENT_SETS:
        raise ValueError(f"instruments must be one of {', '.join(INSTRUMENT_SETS)}, not {which!r}")
    instruments = Instrument.objects.visible_to(user)
    if which == "2004":
        return instruments.filter(table2_order__isnull=False).order_by("table2_order")
    return instruments.order_by("table2_order", "adopted", "code")


@dataclass
class Table2Row:
    instrument: Instrument
    parties: int
    parties_after: int
    after: dt.date
    published: PublishedCount | None = None

    @property
    def parties_difference(self) -> int | None:
        return self.parties - self.published.parties if self.published else None

    @property
    def published_after(self) -> int | None:
        """The published count after the same date, if the document counted from it."""
        return self.published.parties_after if self.published and self.published.after == self.after else None

    @property
    def after_difference(self) -> int | None:
        published = self.published_after
        return None if published is None else self.parties_after - published


@dataclass
class Table2:
    as_at: dt.date
    after: dt.date
    basis: str
    instruments: str
    area: Any = None  # a geo Region, or None for the world
    rows: list[Table2Row] = field(default_factory=list)
    #: The sources of the records counted, with how many consents each gave.
    sources: list[tuple[str, int]] = field(default_factory=list)


def table2(
    actions: QuerySet,
    as_at: dt.date,
    after: dt.date,
    instruments: str = "2004",
    basis: str = "deposit",
    area: Any = None,
    *,
    user: Any,
) -> Table2:
    """Parties per instrument as at `as_at`, and how many of them consented strictly after `after`.

    `actions` are the treaty actions `user` may see; the rows are the instruments they may see;
    `area` narrows to one region's States.
    The published figures (world only) stand beside the computed ones.
    """
    if area is not None:
        actions = actions.filter(state__in=area.states())
    found = standings(actions, as_at, basis)
    result = Table2(as_at, after, basis, instruments, area)
    sources: dict[str, int] = defaultdict(int)
    per_instrument: dict[int, list[Standing]] = defaultdict(list)
    for (_, instrument_id), standing in found.items():
        if standing.party_since:
            per_instrument[instrument_id].append(standing)
            sources[standing.consent["source"] or "(no source given)"] += 1
    published: dict[int, PublishedCount] = {}
    if area is None:
        # The published figure nearest in date to the one asked for (a document's figures stand
        # as at some day before its own date, which is all it gives); the page shows its date.
        for figure in PublishedCount.objects.all():
            held = published.get(figure.instrument_id)
            if held is None or abs(figure.as_at - as_at) < abs(held.as_at - as_at):
                published[figure.instrument_id] = figure
    for instrument in instruments_of(instruments, user):
        parties = per_instrument.get(instrument.pk, [])
        result.rows.append(
            Table2Row(
                instrument,
                len(parties),
                sum(1 for s in parties if s.party_since and s.party_since > after),
                after,
                published.get(instrument.pk),
            )
        )
    result.sources = sorted(sources.items(), key=lambda item: (-item[1], item[0]))
    return result

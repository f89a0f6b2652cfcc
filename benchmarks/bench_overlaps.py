"""The quality of possible overlaps (issue 17): precision and recall at the default threshold on a
labelled set of pairs derived from the seed report's own activities.

Positives are the same work recorded again, as a partner or a second office would record it:
the activity with another provider, its dates moved by up to three weeks, its title reworded or put
into French or Spanish, a State added. Negatives are other work in the same place at the same time:
the activity beside another real activity of the seed reaching the same States in the same months
and sharing an area, but of a different kind (another modality, another title and description).
Pairs come from a fixed seed, so the figures are the same on every run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from coopmatrix.overlaps.describe import describe
from coopmatrix.overlaps.scoring import Described, are_candidates, score

# A reviewer's paraphrase: the words the seed's titles use, as another office would write them.
REWORDED = {
    "workshop": "seminar",
    "direct": "bilateral",
    "legal": "legislative",
    "advisory": "advice",
    "services": "assistance",
    "universal": "international",
    "instruments": "conventions",
    "joint": "common",
    "states": "countries",
    "subregional": "regional",
    "members": "member States",
}
FRENCH = {
    "workshop": "atelier",
    "direct": "directs",
    "legal": "juridiques",
    "advisory": "conseils",
    "services": "services",
    "on": "sur",
    "the": "les",
    "universal": "universels",
    "instruments": "instruments",
    "for": "pour",
    "states": "États",
    "joint": "conjointe",
    "assistance": "assistance",
    "with": "avec",
    "in": "en",
    "of": "de",
    "and": "et",
    "terrorism": "terrorisme",
    "convention": "convention",
    "ratification": "ratification",
    "legislation": "législation",
    "implementation": "mise en œuvre",
    "against": "contre",
    "subregional": "sous-régional",
}
SPANISH = {
    "workshop": "taller",
    "direct": "directos",
    "legal": "jurídicos",
    "advisory": "asesoramiento",
    "services": "servicios",
    "on": "sobre",
    "the": "los",
    "universal": "universales",
    "instruments": "instrumentos",
    "for": "para",
    "states": "Estados",
    "joint": "conjunta",
    "assistance": "asistencia",
    "with": "con",
    "in": "en",
    "of": "de",
    "and": "y",
    "terrorism": "terrorismo",
    "convention": "convención",
    "ratification": "ratificación",
    "legislation": "legislación",
    "implementation": "aplicación",
    "against": "contra",
    "subregional": "subregional",
}


def _words(text: str, glossary: dict[str, str]) -> str:
    return " ".join(glossary.get(w.lower().strip(",.:;"), w) for w in text.split())


def _shift(day: dt.date | None, days: int) -> dt.date | None:
    return day + dt.timedelta(days=days) if day else None


def _again(a: Described, rng: random.Random, pk: int, all_states: list[str]) -> Described:
    """The same work as another office records it."""
    glossary = rng.choice((REWORDED, FRENCH, SPANISH))
    moved = rng.randint(-21, 21)
    states = set(a.states)
    if rng.random() < 0.5:
        states.add(rng.choice(all_states))
    return dataclasses.replace(
        a,
        pk=pk,
        title=_words(a.title, glossary),
        description=_words(a.description, glossary) if rng.random() < 0.5 else "",
        states=frozenset(states),
        providers=frozenset({"partner-organization"}),
        programme=None,
        start=_shift(a.start, moved),
        end=_shift(a.end, moved),
    )


def _other_work(a: Described, b: Described, pk: int) -> Described:
    """Another real activity, placed in the same States and months with an area in common."""
    return dataclasses.replace(
        b,
        pk=pk,
        states=a.states,
        areas=b.areas | {next(iter(sorted(a.areas)))},
        start=a.start,
        end=a.end,
        providers=frozenset({"another-organization"}),
        programme=None,
    )


def labelled_pairs() -> Iterator[tuple[Described, Described, bool, str]]:
    """(a, b, same work?, how the pair was made)."""
    from coopmatrix.matrix.models import Activity

    seed = Activity.objects.exclude(source__startswith="synthetic").values_list("pk", flat=True)
    real = [d for d in describe(seed).values() if d.states and d.areas and d.start and d.end]
    all_states = sorted({s for d in real for s in d.states})
    rng = random.Random(17)
    made = 10_000_000
    for a in real:
        for _ in range(3):
            made += 1
            yield a, _again(a, rng, made, all_states), True, "recorded again"
        others = [b for b in real if b.modality != a.modality and b.title != a.title]
        for b in rng.sample(others, min(3, len(others))):
            made += 1
            yield a, _other_work(a, b, made), False, "other work, same States and months"


#: The real IATI samples (issue 18): where one publisher's activity names another's, the two are
#: the same work recorded by each (a funder's grant and the implementer's project).
IATI_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "iati" / "samples"


def _folded(identifier: str) -> str:
    # Publishers retype identifiers: "West Africa" for "West-Africa", capitals for lower case.
    return "-".join(identifier.upper().split())


def iati_links() -> dict[str, int]:
    """A census of the links between the activities of the IATI samples (`related-activity`, and
    the `provider-activity-id`, `receiver-activity-id` and `activity-id` of organisations), by what
    each names: another publisher's activity among the samples (a labelled pair of the same work),
    an activity of its own publisher (its hierarchy), itself, or an activity not among them."""
    from lxml import etree

    activities: dict[str, str] = {}
    links: list[tuple[str, str]] = []
    for path in sorted(IATI_SAMPLES.glob("*.xml")):
        for element in etree.parse(str(path)).iter("iati-activity"):
            identifier = (element.findtext("iati-identifier") or "").strip()
            reporting = element.find("reporting-org")
            activities[_folded(identifier)] = reporting.get("ref", "") if reporting is not None else ""
            named = [r.get("ref") for r in element.iter("related-activity")]
            named += [o.get("provider-activity-id") for o in element.iter("provider-org")]
            named += [o.get("receiver-activity-id") for o in element.iter("receiver-org")]
            named += [o.get("activity-id") for o in element.iter("participating-org")]
            links += [(_folded(identifier), _folded(name)) for name in named if name]
    census = {
        "links": len(links),
        "another publisher": 0,
        "own publisher": 0,
        "itself": 0,
        "not among them": 0,
    }
    for source, target in links:
        if target == source:
            census["itself"] += 1
        elif target not in activities:
            census["not among them"] += 1
        elif activities[target] == activities[source]:
            census["own publisher"] += 1
        else:
            census["another publisher"] += 1
    census["activities"] = len(activities)
    return census


def quality() -> str:
    threshold = settings.OVERLAP_THRESHOLD
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    pairs = list(labelled_pairs())
    for a, b, same, _how in pairs:
        proposed = are_candidates(a, b) and score(a, b, settings.OVERLAP_WEIGHTS).score >= threshold
        key = ("t" if proposed == same else "f") + ("p" if proposed else "n")
        counts[key] += 1
    precision = counts["tp"] / max(counts["tp"] + counts["fp"], 1)
    recall = counts["tp"] / max(counts["tp"] + counts["fn"], 1)
    positives = sum(1 for *_x, same, _h in pairs if same)
    lines = [
        f"Possible overlaps, quality at the threshold {threshold:g} "
        f"({len(pairs)} labelled pairs: {positives} same work, {len(pairs) - positives} other work)",
        "measure   | value | target | verdict",
        "----------+-------+--------+--------",
        f"precision | {precision:.3f} | 0.9    | {'ok' if precision >= 0.9 else 'MISSED'}",
        f"recall    | {recall:.3f} | 0.9    | {'ok' if recall >= 0.9 else 'MISSED'}",
        f"(proposed and same work {counts['tp']}, proposed but other work {counts['fp']}, "
        f"missed {counts['fn']}, rightly left out {counts['tn']})",
    ]
    if IATI_SAMPLES.is_dir():
        census = iati_links()
        lines.append(
            f"IATI samples ({census['activities']} activities, {census['links']} links to an activity): "
            f"{census['another publisher']} name another publisher's activity among them (pairs of the "
            f"same work for this set), {census['own publisher']} their own publisher's (a hierarchy: one "
            f"provider's programme and its parts), {census['itself']} the activity itself, "
            f"{census['not among them']} an activity not among them."
        )
    return "\n".join(lines)


# --- scale ----------------------------------------------------------------------------------------

#: The issue's targets: the full computation over 1,000,000 activities, the check added to a save,
#: the review queue's first page.
FULL_TARGET_S = 60
CHECK_TARGET_MS = 50
QUEUE_TARGET_MS = 100


def scale() -> str:
    """The per-save check, the full computation in its steps (its search stops after
    BENCH_OVERLAP_BUDGET seconds, default 600, and the rest is projected from the pairs it went
    through), the writing of the pairs kept, and the review queue's first page."""
    import os
    import resource
    import time

    from django.db import connection

    from coopmatrix.matrix.models import Activity
    from coopmatrix.overlaps import batch, engine, signatures
    from coopmatrix.overlaps.models import Overlap

    from .harness import table

    total = Activity.objects.count()
    check = _checks(total)
    budget = float(os.environ.get("BENCH_OVERLAP_BUDGET", "600"))
    # From nothing, as a first computation: the benchmark database's pairs and their history go
    # first (synthetic records only: generate_synthetic writes nowhere else), or each run would
    # write over the history of all the runs before it; on PostgreSQL by TRUNCATE, since a new
    # installation's tables hold no rows deleted and not yet vacuumed either.
    tables = [m._meta.db_table for m in (Overlap, Overlap.history.model)]  # type: ignore[attr-defined]
    with connection.cursor() as sql:
        if connection.vendor == "postgresql":
            sql.execute(f"TRUNCATE {', '.join(tables)}")
        else:
            for name in tables:
                sql.execute(f"DELETE FROM {name}")
    started = time.monotonic()
    packed = signatures.pack_missing()
    loaded = batch.load(signatures.Reader.now())
    load_s = time.monotonic() - started
    sweep = batch.sweep_size(loaded)
    stats: dict[str, int] = {}
    searched = time.monotonic()
    best, finished = batch.search(loaded, budget=budget, stats=stats)
    keys = loaded.pk
    del loaded  # as find_all: the arrays go before the pairs are gathered
    found = best.pairs(keys)
    del best
    search_s = time.monotonic() - searched
    search_all_s = search_s * sweep / max(stats.get("compared", 1), 1) if not finished else search_s
    # Writing: every pair when the search finished, else the first 20,000 (the rate projected).
    part = found if finished else batch.Found(found.keys[:20_000], found.scores[:20_000])
    writing = time.monotonic()
    written = batch.write(part, drop_others=False)
    write_s = time.monotonic() - writing
    write_all_s = write_s * len(found) / max(len(part), 1)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    full_s = load_s + search_all_s + write_all_s
    again_s = None
    if finished:
        again_started = time.monotonic()
        engine.find_all()
        again_s = time.monotonic() - again_started

    queue = _queues()
    verdict = "ok" if finished and full_s <= FULL_TARGET_S else "MISSED"
    lines = [
        table([*check, *queue], f"{connection.vendor}"),
        f"full computation (coopmatrix find_overlaps), {total:,} activities: signatures packed "
        f"{packed:,} and read in {load_s:.1f} s; the sweep goes through {sweep:,} pairs (periods "
        f"that meet in a block of one State and area key): {stats.get('compared', 0):,} of them in "
        f"{search_s:.0f} s ({'finished' if finished else 'stopped at the budget'}), all of them in "
        f"about {search_all_s:,.0f} s; {len(found):,} pairs kept so far, {written['added']:,} "
        f"written in {write_s:.1f} s, all of them in about {write_all_s:,.0f} s; "
        f"in all about {full_s:,.0f} s (target {FULL_TARGET_S} s: {verdict}); "
        f"peak memory {peak_mb:,.0f} MB (target 1,024 MB: {'ok' if peak_mb <= 1024 else 'MISSED'})",
    ]
    if again_s is not None:
        lines.append(f"run again with nothing changed: {again_s:.1f} s")
    return "\n".join(lines)


def latency() -> str:
    """The check on save and the review queue over the pairs the database holds, without finding
    them again (`BENCH_ONLY=overlaps-latency`: minutes, where the full computation takes most of
    an hour)."""
    from django.db import connection

    from coopmatrix.matrix.models import Activity

    from .harness import table

    return table([*_checks(Activity.objects.count()), *_queues()], f"{connection.vendor}")


def _checks(total: int) -> list:
    """The check of fifty activities drawn from all (the same each run), twice: the first pass
    reads each one's candidates from disk as a server does for an activity nobody touched for a
    while; the second from memory, as for one being edited."""
    import random

    from coopmatrix.matrix.models import Activity
    from coopmatrix.overlaps import engine

    from .harness import Workload, measure

    sample = random.Random(5).sample(sorted(Activity.objects.values_list("pk", flat=True)), 50)
    results = []
    for name in ("first look at each", "again"):
        # measure() runs one more first, to warm the connection: the last of the sample.
        order = iter([sample[-1], *sample])
        results.append(
            measure(
                Workload(
                    f"overlap check of one activity (on save), {name}",
                    f"{total:,} activities",
                    lambda order=order: engine.find_for(next(order)),
                    target_ms=CHECK_TARGET_MS,
                    repeat=len(sample),
                )
            )
        )
    return results


def _queues() -> list:
    """The review queue's first page for the public (pairs of public activities) and for the
    secretariat (every pair), made each time: not from the public cache."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from coopmatrix.overlaps.models import Overlap

    from .harness import Workload, measure

    settings.PUBLIC_CACHE_SECONDS = 0
    size = f"{Overlap.objects.count():,} pairs kept"
    results = []
    # A secretariat analyst made for the benchmark (in its own database, as its synthetic records),
    # with the second factor the role must have.
    analyst, new = get_user_model().objects.get_or_create(username="benchmark-secretariat")
    if new:
        from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

        from coopmatrix.accounts.models import Profile
        from coopmatrix.core.roles import Role

        Profile.objects.create(user=analyst, role=Role.SECRETARIAT)
        TOTP.activate(analyst, generate_totp_secret())
    clients = {"the public": Client(), "the secretariat": Client()}
    clients["the secretariat"].force_login(analyst)
    for who, client in clients.items():
        first = client.get("/matrix/overlaps/")
        assert first.status_code == 200 and b'data-testid="overlaps"' in first.content, first.status_code
        results.append(
            measure(
                Workload(
                    f"review queue, first page ({who})",
                    size,
                    lambda client=client: client.get("/matrix/overlaps/"),
                    target_ms=QUEUE_TARGET_MS,
                    repeat=10,
                )
            )
        )
    return results

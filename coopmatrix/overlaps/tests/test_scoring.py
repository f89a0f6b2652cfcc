"""The overlap score on described activities (made for tests): the issue's conditions, each part
and its explanation, and text that matches across languages."""

import datetime as dt

from coopmatrix.overlaps.scoring import Described, are_candidates, candidates, score

D = dt.date


def _activity(pk, **changes):
    base = {
        "title": "Workshop on the financing of terrorism (made for tests)",
        "states": frozenset({"BEN", "TGO"}),
        "areas": frozenset({"terrorist-financing"}),
        "instruments": frozenset({"terrorist-financing-1999"}),
        "providers": frozenset({"test-org-a"}),
        "modality": "workshop",
        "start": D(2005, 3, 1),
        "end": D(2005, 3, 31),
    }
    base.update(changes)
    return Described(pk=pk, **base)


def test_the_same_work_in_english_and_french_scores_high_and_says_why():
    english = _activity(1)
    french = _activity(
        2,
        title="Atelier sur le financement du terrorisme (fait pour les tests)",
        providers=frozenset({"test-org-b"}),
        start=D(2005, 3, 20),
        end=D(2005, 4, 15),
    )
    assert are_candidates(english, french)
    found = score(english, french)
    assert found.score > 0.8
    lines = found.explanation()
    assert lines[0].startswith("States in common: BEN, TGO (2 of 2)")
    assert "1 month(s) in common of the shorter period's 1" in lines[1]
    # No word is shared but "tests"; their trigrams are ("terrorism"/"terrorisme", "financ…").
    text = found.reasons[-1]
    assert text.part == "text" and text.value > 0.3
    assert "(words: tests)" in lines[-1]


def test_no_state_no_area_or_no_common_months_is_no_candidate():
    first = _activity(1)
    assert not are_candidates(first, _activity(2, states=frozenset({"NER"}), providers=frozenset({"b"})))
    other_area = _activity(2, areas=frozenset({"extradition"}), providers=frozenset({"b"}))
    assert not are_candidates(first, other_area)
    later = _activity(2, start=D(2006, 1, 1), end=D(2006, 2, 28), providers=frozenset({"b"}))
    assert not are_candidates(first, later)
    assert not are_candidates(first, _activity(2, start=None, end=None, providers=frozenset({"b"})))


def test_one_provider_counts_only_under_another_programme():
    first = _activity(1, programme="P1")
    assert not are_candidates(first, _activity(2, programme="P1"))
    assert are_candidates(first, _activity(2, programme="P2"))


def test_unlike_work_scores_lower_than_like_work():
    first = _activity(1)
    like = _activity(2, providers=frozenset({"b"}))
    unlike = _activity(
        3,
        title="Study tour on border control (made for tests)",
        states=frozenset({"BEN", "NER", "NGA", "GHA"}),
        instruments=frozenset(),
        providers=frozenset({"b"}),
        modality="study_tour",
        start=D(2004, 6, 1),
        end=D(2005, 12, 31),
    )
    assert are_candidates(first, unlike)
    assert score(first, like).score > score(first, unlike).score
    assert [(c.a, c.b) for c in candidates([unlike, first, like])][0] == (1, 2)


def _packed(described, keys):
    """A description packed as the kept signatures are: each code a bit of its own."""
    from coopmatrix.overlaps.scoring import fingerprint, pack

    def mask(codes):
        return sum(1 << keys.setdefault(code, len(keys)) for code in codes)

    return pack(
        described.pk,
        states=mask(described.states),
        areas=mask(described.areas),
        dac=mask(described.dac),
        instruments=mask(described.instruments),
        providers=described.providers,
        programme=described.programme,
        modality=described.modality,
        start=described.start,
        end=described.end,
        text=fingerprint(f"{described.title} {described.description}"),
    )


def test_the_quick_score_over_signatures_gives_the_full_score_to_the_last_digit():
    """The check on save and the full computation compare packed signatures (scoring.quick); the
    pair's page explains the full score. Both must give the same figure, and the same verdict on
    whether two activities are candidates at all, or a pair would be kept at one door and not at
    the other."""
    import random

    from coopmatrix.overlaps.scoring import quick

    rng = random.Random(17)
    states, areas, dac = (
        ["BEN", "TGO", "NER", "MLI", "SEN"],
        ["tf", "legal", "border", "cyber"],
        ["15210", "15130"],
    )
    titles = [
        "Workshop on the financing of terrorism",
        "Atelier sur le financement du terrorisme",
        "Training course on border control",
        "Curso sobre la financiación del terrorismo",
        "",
    ]

    def some(items):
        return frozenset(rng.sample(items, rng.randint(0, len(items))))

    def one(pk):
        start = D(2005, 1, 1) + dt.timedelta(days=rng.randrange(0, 800))
        return Described(
            pk=pk,
            title=rng.choice(titles),
            description=rng.choice(["", "with the national authorities"]),
            states=some(states),
            areas=some(areas),
            dac=some(dac),
            instruments=some(["tf-1999", "bombings-1997", "hostages-1979"]),
            providers=some(["org-a", "org-b"]),
            programme=rng.choice([None, "p1"]),
            modality=rng.choice(["workshop", "training", ""]),
            start=start if rng.random() > 0.05 else None,
            end=start + dt.timedelta(days=rng.randrange(0, 400)),
        )

    keys: dict[str, int] = {}
    weights = {"states": 0.3, "months": 0.15, "areas": 0.15, "instruments": 0.1, "modality": 0.1, "text": 0.2}
    kept = 0
    for pk in range(0, 3000, 2):
        a, b = one(pk), one(pk + 1)
        for w in (weights, None):
            full = score(a, b, w) if w else score(a, b)
            fast = (
                quick(_packed(a, keys), _packed(b, keys), w)
                if w
                else quick(_packed(a, keys), _packed(b, keys))
            )
            if are_candidates(a, b):
                assert fast == full.score, (a, b)
                kept += 1
            else:
                assert fast is None, (a, b)
    assert kept > 300  # the pairs drawn reach both branches often

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

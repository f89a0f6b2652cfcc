"""The resolver turns every State named in the seed report into the right record."""

import re
from pathlib import Path

import pytest

from coopmatrix.geo.models import State
from coopmatrix.geo.resolver import AmbiguousState, StateNotThen, StateResolver, UncertainState, UnknownState

SEEDS = Path(__file__).resolve().parents[3].parent / "shared" / "seeds"


def _report() -> str:
    (report,) = [
        p for p in SEEDS.glob("*.txt") if "Terrorism Prevention Branch" in p.read_text(encoding="utf-8")
    ]
    return report.read_text(encoding="utf-8")


def _footnote(text: str, mark: str) -> str:
    match = re.search(rf"^{mark} (.+?)\.$", text, re.MULTILINE)
    assert match, f"footnote {mark} not found in the seed report"
    return match.group(1)


@pytest.fixture
def resolver(reference):
    return StateResolver()


@pytest.mark.parametrize(("mark", "count"), [("²", 35), ("³", 6), ("⁴", 21), ("⁵", 9), ("⁶", 14), ("⁷", 11)])
def test_it_resolves_every_state_of_the_report_footnotes(resolver, mark, count):
    states = resolver.resolve_many(_footnote(_report(), mark))
    assert len(states) == count


def test_it_resolves_the_38_replies_of_paragraph_22(resolver):
    text = _report()
    replies = re.search(r"the following 38 countries and territories had responded: (.+?)\.\n", text).group(1)
    states = resolver.resolve_many(replies)
    assert len(states) == 38
    codes = {s.code for s in states}
    assert {"GGY", "IMN", "GBR", "KOR", "STP"} <= codes


def test_it_resolves_the_names_of_paragraph_13(resolver):
    names = (
        "Albania, Croatia, Serbia and Montenegro, Bosnia and Herzegovina and the former Yugoslav "
        "Republic of Macedonia"
    )
    codes = [s.code for s in resolver.resolve_many(names)]
    assert codes == ["ALB", "HRV", "CSXX", "BIH", "MKD"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Cape Verde", "CPV"),
        ("Cabo Verde", "CPV"),
        ("Viet Nam", "VNM"),
        ("Republic of Korea", "KOR"),
        ("Democratic People's Republic of Korea", "PRK"),
        ("Lao People's Democratic Republic", "LAO"),
        ("Macao Special Administrative Region of China", "MAC"),
        ("the former Yugoslav Republic of Macedonia", "MKD"),
        ("Serbia and Montenegro", "CSXX"),
        ("Yugoslavia", "YUCS"),
        ("Sao Tome and Principe", "STP"),
        ("São Tomé and Príncipe", "STP"),
        ("Côte d’Ivoire", "CIV"),
        ("KG", "KGZ"),
        ("kgz", "KGZ"),
        ("417", "KGZ"),
        ("Кыргызстан", "KGZ"),
    ],
)
def test_it_resolves_names_and_codes(resolver, text, code):
    assert resolver.resolve(text).code == code


def test_an_unknown_name_names_the_input_and_the_closest_matches(resolver):
    with pytest.raises(UnknownState) as failure:
        resolver.resolve("Kyrgystan")
    assert "'Kyrgystan'" in str(failure.value)
    assert "Kyrgyzstan" in failure.value.suggestions


def test_an_empty_name_is_an_error(resolver):
    with pytest.raises(UnknownState, match="empty"):
        resolver.resolve("  ")


def test_a_list_with_an_unknown_name_fails_whole(resolver):
    with pytest.raises(UnknownState) as failure:
        resolver.resolve_many("Benin, Atlantis and Togo")
    assert "Atlantis" in str(failure.value)


def test_a_code_two_historic_states_carried_is_ambiguous(resolver):
    # "CS" was Czechoslovakia's alpha-2 code and later Serbia and Montenegro's.
    with pytest.raises(AmbiguousState) as failure:
        resolver.resolve("CS")
    assert failure.value.suggestions == ["Czechoslovakia", "Serbia and Montenegro"]


def test_the_manager_resolves_too(reference):
    assert State.objects.resolve("Comoros").iso3 == "COM"


def test_a_name_that_fits_two_states_suggests_both(reference):
    with pytest.raises(UnknownState) as failure:
        StateResolver().resolve("Virgin Islands")
    assert {"United States Virgin Islands", "British Virgin Islands"} <= set(failure.value.suggestions)


# --- never a guess in silence -----------------------------------------------------------------


@pytest.mark.parametrize("text", ["New Jersey", "New Mexico", "South Yemen"])
def test_a_spelling_pattern_does_not_take_another_place(resolver, text):
    """OCHA's pattern for Jersey finds "jersey" in "New Jersey": a pattern counts only when what
    it leaves over is generic ("Republic of …"), never another word of a place name."""
    with pytest.raises(UnknownState) as failure:
        resolver.resolve(text)
    assert not isinstance(failure.value, UncertainState)
    assert text in str(failure.value)


@pytest.mark.parametrize(
    ("text", "code", "how"),
    [
        ("Brunei Darussalem", "BRN", "close"),
        ("Cфte d'Ivoire", "CIV", "close"),  # a Cyrillic letter pasted from a PDF
        ("Craotia", "HRV", "close"),
        ("Rhodesia", "ZWE", "pattern"),
    ],
)
def test_a_close_or_patterned_name_is_shown_never_assumed(resolver, text, code, how):
    reading = resolver.read(text)
    assert (reading.state.code, reading.how, reading.uncertain) == (code, how, True)
    assert reading.note.startswith(f"read {text!r} as {reading.state.name_en} ({code})")
    with pytest.raises(UncertainState) as failure:
        resolver.resolve(text)  # where no person confirms (the API, a form), it is refused
    assert f"did you mean {reading.state.name_en} ({code})" in str(failure.value)


def test_an_import_takes_uncertain_readings_and_keeps_them_to_show(reference):
    resolver = StateResolver(accept_uncertain=True)
    assert resolver.resolve("Craotia").code == "HRV"
    assert resolver.resolve("Croatia").code == "HRV"
    assert resolver.notes_since(0, "row 4") == [
        "row 4: read 'Craotia' as Croatia (HRV), by a close spelling; check it before confirming"
    ]
    # Handed out once, then let go: the next row's notes are its own, and a long import does not
    # hold every reading it has shown.
    assert resolver.uncertain == []
    before = len(resolver.uncertain)
    assert resolver.resolve("Craotia").code == "HRV"
    assert resolver.notes_since(before, "row 5") == [
        "row 5: read 'Craotia' as Croatia (HRV), by a close spelling; check it before confirming"
    ]
    assert resolver.notes_since(0, "row 6") == []


def test_two_states_spelt_alike_give_no_reading(resolver):
    with pytest.raises(UnknownState) as failure:
        resolver.resolve("Virgin Islands")
    assert not isinstance(failure.value, UncertainState)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Royaume-Uni", "GBR"),
        ("Reino Unido", "GBR"),
        ("Pays-Bas", "NLD"),
        ("Estados Unidos", "USA"),
        ("Russie", "RUS"),
        ("U.S.", "USA"),
        ("U.S.A.", "USA"),
        ("USSR", "SUHH"),
        ("Soviet Union", "SUHH"),
        ("Kosovo", "XKX"),
        ("XK", "XKX"),
        ("XKX", "XKX"),
        ("Kosovo (under UNSCR 1244)", "XKX"),
    ],
)
def test_common_short_names_in_french_and_spanish_and_abbreviations_resolve(resolver, text, code):
    assert resolver.resolve(text).code == code


def test_a_short_name_two_states_share_is_ambiguous(resolver):
    # "Corée, République de" and "Corée, République populaire démocratique de".
    with pytest.raises(AmbiguousState):
        resolver.resolve("Corée")


@pytest.mark.parametrize(
    ("text", "day", "successor"),
    [("Zaire", "2003-05-01", "Democratic Republic of the Congo"), ("Burma", "2015-01-01", "Myanmar")],
)
def test_a_historic_state_exists_only_until_it_ended(resolver, text, day, successor):
    import datetime as dt

    with pytest.raises(StateNotThen) as failure:
        resolver.resolve(text, on=dt.date.fromisoformat(day))
    assert "ceased to exist" in str(failure.value) and successor in str(failure.value)
    assert resolver.resolve(text, on=dt.date(1985, 6, 1)).is_historic

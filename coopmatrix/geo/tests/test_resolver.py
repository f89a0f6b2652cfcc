"""The resolver turns every State named in the seed report into the right record."""

import re
from pathlib import Path

import pytest

from coopmatrix.geo.models import State
from coopmatrix.geo.resolver import AmbiguousState, StateResolver, UnknownState

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

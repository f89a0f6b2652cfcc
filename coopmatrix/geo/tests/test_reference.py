import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from coopmatrix.core.importing import ImportFailed
from coopmatrix.core.reference import load_reference, reference_files
from coopmatrix.directory.models import Membership, Organization
from coopmatrix.geo.models import Region, State
from coopmatrix.treaties.models import Instrument

APP_DIR = Path(__file__).resolve().parents[2]


def test_it_loads_every_iso_entry_and_the_193_member_states(reference):
    # the 249 entries of ISO 3166-1, Kosovo under its user-assigned code, and the 31 of ISO 3166-3
    assert State.objects.count() == 249 + 1 + 31
    assert State.objects.current().count() == 250
    kosovo = State.objects.get(code="XKX")
    assert (kosovo.iso2, kosovo.status) == ("XK", State.Status.TERRITORY)
    assert "Security Council resolution 1244 (1999)" in kosovo.note
    assert State.objects.filter(status=State.Status.MEMBER).count() == 193
    assert set(State.objects.filter(status=State.Status.OBSERVER).values_list("iso3", flat=True)) == {
        "VAT",
        "PSE",
    }


def test_it_places_states_in_their_m49_regions(reference):
    kyrgyzstan = State.objects.get(iso3="KGZ")
    assert (kyrgyzstan.region.name, kyrgyzstan.subregion.name) == ("Asia", "Central Asia")
    comoros = State.objects.get(iso3="COM")
    assert comoros.intermediate_region.name == "Eastern Africa"
    assert comoros.subregion.name == "Sub-Saharan Africa"
    assert Region.objects.get(m49=143).parent.m49 == 142


def test_it_keeps_names_in_the_six_un_languages(reference):
    kyrgyzstan = State.objects.get(iso3="KGZ")
    assert dict(kyrgyzstan.names())["Русский"] == "Кыргызстан"
    assert kyrgyzstan.name_zh == "吉尔吉斯斯坦"
    assert kyrgyzstan.name_ar == "قيرغيزستان"


def test_territories_of_the_seed_report_are_territories(reference):
    for iso3 in ("GGY", "IMN", "MAC"):
        assert State.objects.get(iso3=iso3).status == State.Status.TERRITORY


def test_historic_states_keep_their_dates_and_successors(reference):
    yugoslavia = State.objects.get(code="YUCS")
    assert yugoslavia.is_historic
    assert yugoslavia.ended_display == "2003-07-23"
    assert [s.code for s in yugoslavia.successors.all()] == ["CSXX"]
    serbia_montenegro = State.objects.get(code="CSXX")
    assert {s.code for s in serbia_montenegro.successors.all()} == {"SRB", "MNE"}
    # A year-only date stays a year.
    assert State.objects.get(code="DYBJ").ended_display == "1977"


def test_every_loaded_fact_carries_its_source(reference):
    for model in (State, Region, Organization, Membership, Instrument):
        assert not model.objects.filter(source="").exists(), model


def test_it_loads_the_instruments_and_the_organizations_of_the_seeds(reference):
    assert Instrument.objects.count() == 19
    assert Instrument.objects.filter(table2_order__isnull=False).count() == 12
    rats = Organization.objects.get(code="sco-rats")
    assert (rats.parent.code, rats.headquarters.iso3, rats.headquarters_city) == ("sco", "KGZ", "Bishkek")
    sco_2002 = Membership.objects.filter(organization__code="sco").as_at("2002-11-23")
    assert set(sco_2002.values_list("state__iso3", flat=True)) == {"CHN", "KAZ", "KGZ", "RUS", "TJK", "UZB"}


def test_a_rerun_changes_nothing_and_adds_no_history(reference):
    history_before = State.history.count() + Organization.history.count() + Instrument.history.count()
    stats = load_reference()
    assert sum(stats.created.values()) == 0 and sum(stats.updated.values()) == 0
    history_after = State.history.count() + Organization.history.count() + Instrument.history.count()
    assert history_after == history_before


def _copy_data(tmp_path: Path) -> Path:
    for name in reference_files():
        matches = list(APP_DIR.glob(f"*/data/{name}"))
        assert len(matches) == 1, name
        shutil.copy(matches[0], tmp_path / name)
    return tmp_path


def test_a_malformed_row_names_file_line_and_reason_and_loads_nothing(reference, tmp_path):
    history_before = Organization.history.count()
    data = _copy_data(tmp_path)
    path = data / "memberships.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace("2001-06-15", "2001-02-30")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as failure:
        load_reference(data)
    message = str(failure.value)
    assert "memberships.csv, line 4, column 'joined': '2001-02-30'" in message
    assert "not a real date" in message
    assert Organization.history.count() == history_before


def test_an_edit_with_an_unknown_state_leaves_loaded_data_untouched(reference, tmp_path):
    data = _copy_data(tmp_path)
    path = data / "organizations.csv"
    text = path.read_text(encoding="utf-8").replace("sco,,KGZ,Bishkek", "sco,,XYZ,Bishkek")
    text = text.replace("United Nations Office on Drugs and Crime,", "UN Office on Drugs and Crime (edited),")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CommandError) as failure:
        call_command("load_reference", data_dir=data)
    assert "organizations.csv, line 29, column 'headquarters': 'XYZ': no State with this code" in str(
        failure.value
    )
    assert Organization.objects.get(code="unodc").name == "United Nations Office on Drugs and Crime"


def test_an_edited_file_updates_the_record_and_its_history(reference, tmp_path):
    data = _copy_data(tmp_path)
    path = data / "organizations.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(',Vienna,"SG report', ',Wien,"SG report', 1), encoding="utf-8")
    stats = load_reference(data)
    assert stats.updated["organizations"] == 1
    unodc = Organization.objects.get(code="unodc")
    assert unodc.headquarters_city == "Wien"
    assert unodc.history.first().history_change_reason == "reference data updated"


def test_a_file_with_missing_columns_is_refused(reference, tmp_path):
    data = _copy_data(tmp_path)
    (data / "instruments.csv").write_text("code,title\nx,y\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as failure:
        load_reference(data)
    assert "instruments.csv, line 1, column 'table2_order" in str(failure.value)
    assert "missing column(s)" in str(failure.value)

"""Reading IATI files: the standard's own schema tests, the real samples, and files that are not
IATI activity XML. These tests read the shared reference data, as the issue allows."""

from __future__ import annotations

import datetime as dt
import pickle
import pickletools
import re
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from coopmatrix.exchange import iati
from coopmatrix.exchange.iati import IatiActivity, Money, NotIati, Refused, read

IATI = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "iati"
SHOULD_PASS = sorted((IATI / "schema-tests" / "should-pass").glob("*.xml"))
SHOULD_FAIL = sorted((IATI / "schema-tests" / "should-fail").glob("*.xml"))
SAMPLES = IATI / "samples"


def _read(path: Path) -> tuple[list[IatiActivity], list[Refused]]:
    found = list(read(path, path.name))
    return [a for a in found if isinstance(a, IatiActivity)], [r for r in found if isinstance(r, Refused)]


def test_the_shared_test_files_are_there():
    assert len(SHOULD_PASS) == 39 and len(SHOULD_FAIL) == 150


@pytest.mark.parametrize("path", SHOULD_PASS, ids=lambda p: p.stem)
def test_every_should_pass_file_passes_the_schema(path):
    """Each is valid 2.03; their codes are placeholders ("xx") and their identifiers empty, which
    the content check names rather than write an activity under no identifier."""
    read_, refused = _read(path)
    assert read_ or refused
    assert all(r.stage == "content" for r in refused), [str(r) for r in refused if r.stage == "schema"]
    for r in refused:
        assert any("iati-identifier is empty" in reason or "codelist" in reason for reason in r.reasons), r


@pytest.mark.parametrize("path", SHOULD_FAIL, ids=lambda p: p.stem)
def test_every_should_fail_file_is_refused_by_the_schema_with_a_line_and_a_reason(path):
    read_, refused = _read(path)
    assert not read_, f"{path.name} was read"
    assert refused and all(r.stage == "schema" for r in refused)
    for r in refused:
        assert r.reasons and all(reason.startswith("line ") for reason in r.reasons), r
        # Plain words, not the validator's jargon.
        assert not any("atomic type" in reason or "Expected is" in reason for reason in r.reasons), r


def test_a_refusal_names_the_element_at_fault_in_plain_words():
    def reasons(name: str) -> str:
        return " ".join(_read(IATI / "schema-tests" / "should-fail" / name)[1][0].reasons)

    assert "<iati-activity> lacks a required element (<iati-identifier>)" in reasons("01-empty-activity.xml")
    assert "<period-start> lacks its required attribute iso-date" in reasons(
        "budget_04-missing-attribute-period-start-iso-date.xml"
    )
    assert "'2011-06-01' is not a date and time" in reasons("16-last-updated-datetime.xml")
    assert "<title> is not expected here" in reasons("24-two-titles.xml")


def test_the_real_samples_are_read_and_their_faults_named():
    counts = {}
    for path in sorted(SAMPLES.glob("*.xml")):
        read_, refused = _read(path)
        counts[path.name] = (len(read_), len(refused))
    assert counts == {
        "datastore-2020-un-multilateral-ngo-50.xml": (49, 1),
        "dfid-GB-1-2016.xml": (3, 5),
        "iati-activity-standard-example-annotated-203.xml": (1, 0),
        "iati-example-203.xml": (13, 0),
    }
    # DFID's 2.01 file gives capital-spend without the percentage that 2.03 requires.
    _read_, refused = _read(SAMPLES / "dfid-GB-1-2016.xml")
    assert refused[0].identifier == "GB-1-109616-101" and refused[0].line == 28
    assert refused[0].reasons == ("line 99: <capital-spend> lacks its required attribute percentage",)
    # One activity of the Datastore export names a recipient country "XX", which is none.
    _read_, refused = _read(SAMPLES / "datastore-2020-un-multilateral-ngo-50.xml")
    assert refused[0].identifier == "XM-DAC-903-SII-36027"
    assert "recipient-country code 'XX' is not in IATI's Country codelist" in refused[0].reasons[0]


def test_what_is_read_crosses_to_the_importing_process_whole_and_by_values():
    """A large file is read in a second process, which pickles what it read to the importing one
    (core.aside): every part of every sample activity, and every refusal, arrives equal. Each part
    is made again from its values by its own __init__, not filled in after it is made by the
    dataclasses module's __setstate__ (which took twice as long): only the activities themselves
    are (one BUILD each)."""
    found = [item for path in sorted(SAMPLES.glob("*.xml")) for item in read(path, path.name)]
    assert sum(isinstance(item, Refused) for item in found) == 6
    data = pickle.dumps(found, protocol=pickle.HIGHEST_PROTOCOL)
    assert pickle.loads(data) == found
    filled = sum(op.name == "BUILD" for op, _arg, _at in pickletools.genops(data))
    assert filled == sum(isinstance(item, IatiActivity) for item in found) == 66


def test_a_part_that_its_values_cannot_make_again_is_refused_when_declared():
    """A part is made again as its class called with its fields' values: a class whose __init__
    does not take them all, in order, would arrive wrong in the importing process; it is refused
    where it is declared, not found wrong in an import."""
    from dataclasses import dataclass, field

    with pytest.raises(TypeError, match="Single cannot be pickled"):

        @iati._pickled_by_values
        @dataclass(slots=True)
        class Single:
            code: str

    with pytest.raises(TypeError, match="Derived cannot be pickled"):

        @iati._pickled_by_values
        @dataclass(slots=True)
        class Derived:
            code: str
            name: str
            label: str = field(init=False, default="")


def test_an_activity_is_read_whole():
    (activity,), _ = _read(SAMPLES / "iati-activity-standard-example-annotated-203.xml")
    assert activity.identifier == "AA-AAA-123456789-ABC123"
    assert activity.version == "2.03" and activity.language == "en" and activity.currency == "USD"
    assert activity.last_updated == dt.datetime(2014, 9, 10, 7, 15, 37, tzinfo=dt.UTC)
    assert activity.titles == {
        "en": "Activity title",
        "fr": "Titre de l'activité",
        "es": "Título de la actividad",
    }
    assert activity.reporting_org.ref == "AA-AAA-123456789" and activity.reporting_org.type == "40"
    assert [(o.role, o.ref) for o in activity.participating][:2] == [
        ("1", "BB-BBB-123456789"),
        ("2", "CC-CCC-123456789"),
    ]
    assert activity.status == "2"
    assert activity.dates["1"] == dt.date(2012, 4, 15)
    assert [(c.code, c.percentage) for c in activity.countries] == [("AF", 25), ("AG", 25)]
    assert [(s.vocabulary, s.code) for s in activity.sectors] == [
        ("1", "11110"),
        ("1", "11120"),
        ("98", "A1"),
    ]
    budget = activity.budgets[0]
    assert (budget.start, budget.end) == (dt.date(2014, 1, 1), dt.date(2014, 12, 31))
    assert budget.money == Money(Decimal("1000"), "AUD", dt.date(1994, 1, 1))
    transaction = activity.transactions[0]
    assert transaction.type == "1" and transaction.money.value == Decimal("1000")
    assert transaction.provider is not None and transaction.provider.activity_id == "BB-BBB-123456789-1234AA"
    assert activity.related == [("1", "AA-AAA-123456789-6789")]
    assert activity.documents[0].url == "http:www.example.org/docs/report_en.odt"  # sic
    assert activity.contacts[0].email == "transparency@example.org"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "the file is empty"),
        (b"   \n", "the file is empty"),
        (b"<!DOCTYPE html>\n<html><head><title>Not found</title></head><body></body></html>", "an HTML page"),
        (b"<html><body><p>Error<br></body></html>", "an HTML page"),
        (b"<foo><bar/></foo>", "root element is <foo>"),
        (b"<iati-organisations version='2.03'/>", "an IATI organisation file"),
        (b"<iati-activities version='1.05'><iati-activity/></iati-activities>", "an IATI 1.05 file"),
        (b"hello, world", "not XML"),
        (b"<iati-activities version='2.03'><iati-activity><iati-identifier>A-1</iati", "truncated"),
        (b"<iati-activities version='2.03'></iati-activities><x/>", "not well-formed XML, line 1"),
    ],
)
def test_a_file_that_is_not_iati_activity_xml_is_refused_saying_what_it_is(content, says):
    with pytest.raises(NotIati, match=r"^upload\.xml: ") as refused:
        list(read(content, "upload.xml"))
    assert says in str(refused.value)


def test_a_truncated_real_file_is_called_truncated_wherever_it_is_cut(tmp_path):
    data = (SAMPLES / "iati-example-203.xml").read_bytes()
    for cut in range(500, len(data) - 200, len(data) // 25):
        with pytest.raises(NotIati, match="truncated"):
            list(read(data[:cut], "cut.xml"))
        on_disk = tmp_path / "cut.xml"
        on_disk.write_bytes(data[:cut] + b"\n \n\n")
        with pytest.raises(NotIati, match="truncated"):
            list(read(on_disk, "cut.xml"))


def test_a_file_declaring_entities_is_refused():
    """An external entity would read a file of the server into an activity's title."""
    content = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/hostname">]>'
        b"<iati-activities version='2.03'><iati-activity><iati-identifier>A-1</iati-identifier>"
        b"<reporting-org ref='A' type='10'><narrative>&secret;</narrative></reporting-org>"
        b"<title><narrative>T</narrative></title></iati-activity></iati-activities>"
    )
    with pytest.raises(NotIati, match="declares a DOCTYPE"):
        list(read(content, "x.xml"))


# --- a fresh parser now and then (iati._Events) -------------------------------------------------


def _assembled() -> bytes:
    """The real samples' activities in one file, each written on its own as tools that gather
    activities write them: the Datastore's declare their namespace on each activity."""
    activities = [
        etree.tostring(element)
        for name in (
            "dfid-GB-1-2016.xml",
            "datastore-2020-un-multilateral-ngo-50.xml",
            "iati-example-203.xml",
        )
        for _event, element in etree.iterparse(str(SAMPLES / name), tag="iati-activity")
    ]
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- gathered -->\n<iati-activities version="2.03">\n'
        + (b"\n".join(activities) + b"\n</iati-activities>\n")
    )


def _read_with(monkeypatch, content: bytes, every: int, block: int) -> tuple[list, int]:
    """What read gives with a fresh parser every `every` activities, fed `block` bytes at a
    time; and how many parsers it started to read activities (those given only the events of the
    root and its activities)."""
    started = []
    make = iati._parser

    def counted(tags=None):
        started.append(tags)
        return make(tags)

    monkeypatch.setattr(iati, "FRESH_PARSER_EVERY", every)
    monkeypatch.setattr(iati, "BLOCK", block)
    monkeypatch.setattr(iati, "_parser", counted)
    return list(read(content, "gathered.xml")), sum(1 for tags in started if tags == iati.ACTIVITIES)


def test_an_activity_within_another_element_on_the_root_is_not_one_of_the_file(monkeypatch):
    content = _assembled()
    at = content.index(b"<iati-activity", len(content) // 2)
    end = content.index(b"</iati-activity>", at) + len(b"</iati-activity>")
    inner = re.search(rb"<iati-identifier>([^<]+)<", content[at:end]).group(1).decode()
    wrapped = content[:at] + b"<wrapper>" + content[at:end] + b"</wrapper>" + content[end:]
    read_whole = [a.identifier for a in read(content, "whole.xml")]
    assert inner in read_whole
    # Read by the parser given only the root's and the activities' events (with fresh parsers
    # too), and by the one given every element's (where the root's start tag is not found in
    # the bytes, or is not IATI's).
    filtered = [a.identifier for a in read(wrapped, "wrapped.xml")]
    assert filtered == [i for i in read_whole if i != inner]
    monkeypatch.setattr(iati, "FRESH_PARSER_EVERY", 1)
    assert [a.identifier for a in read(wrapped, "wrapped.xml")] == filtered
    monkeypatch.setattr(iati._Events, "_root_is_iati", staticmethod(lambda head: False))
    monkeypatch.setattr(iati, "FRESH_PARSER_EVERY", 10**9)
    assert [a.identifier for a in read(wrapped, "wrapped.xml")] == filtered


def test_a_fresh_parser_reads_what_one_parser_reads_lines_included(monkeypatch):
    content = _assembled()
    whole, parsers = _read_with(monkeypatch, content, every=10**9, block=1 << 16)
    assert parsers == 1 and len(whole) == 71
    # Blocks of odd sizes cut end tags, lines and characters of several bytes in two.
    for every, block in ((1, 997), (3, 4096), (7, 65536)):
        fresh, parsers = _read_with(monkeypatch, content, every, block)
        assert fresh == whole, (every, block)
        assert parsers > 71 // every // 2, (every, block, parsers)
    # The lines named are the file's, as its bytes count them.
    refused = next(r for r in whole if isinstance(r, Refused) and r.identifier == "GB-1-109616-101")
    start = content.rindex(b"<iati-activity", 0, content.index(b">GB-1-109616-101<"))
    assert refused.line == content[:start].count(b"\n") + 1
    spend = content[: content.index(b"<capital-spend", start)].count(b"\n") + 1
    assert refused.reasons == (f"line {spend}: <capital-spend> lacks its required attribute percentage",)


def test_a_broken_file_is_named_at_the_same_line_after_a_fresh_parser(monkeypatch):
    content = _assembled()
    for cut in range(len(content) // 3, len(content) - 100, len(content) // 7):
        broken = content[:cut] + b"<oops></iati-activity>" + content[cut:]
        messages = []
        for every in (10**9, 1):
            monkeypatch.setattr(iati, "FRESH_PARSER_EVERY", every)
            with pytest.raises(NotIati) as refused:
                list(read(broken, "broken.xml"))
            messages.append(str(refused.value))
        assert messages[0] == messages[1]
        assert int(re.search(r"line (\d+)", messages[0]).group(1)) > 100
        with pytest.raises(NotIati, match="truncated"):
            list(read(content[:cut], "cut.xml"))


@pytest.mark.parametrize(
    "trap",
    [
        b"<!-- </iati-activity> -->",  # between activities
        b"<!-- </iati-activity>\n<iati-activity> -->",
        b"</iati-activity >",  # an end tag with a space: no fresh parser for this file
    ],
)
def test_an_end_tag_that_ends_no_activity_never_starts_a_fresh_parser_in_the_wrong_place(monkeypatch, trap):
    content = _assembled()
    whole, _ = _read_with(monkeypatch, content, every=10**9, block=1 << 16)
    if trap.startswith(b"</"):
        at = content.index(b"</iati-activity>", len(content) // 2)
        changed = content[:at] + trap + content[at + len(b"</iati-activity>") :]
    else:
        at = content.index(b"<iati-activity", len(content) // 2)
        changed = content[:at] + trap + content[at:]
    fresh, _ = _read_with(monkeypatch, changed, every=1, block=997)
    assert [a.identifier for a in fresh] == [a.identifier for a in whole]
    same, _ = _read_with(monkeypatch, changed, every=10**9, block=1 << 16)
    assert fresh == same

import datetime as dt

import pytest

from coopmatrix.core.dates import PartialDate, Precision


@pytest.mark.parametrize(
    ("text", "date", "precision", "shown"),
    [
        ("2004-03-09", dt.date(2004, 3, 9), Precision.DAY, "2004-03-09"),
        ("2004-03", dt.date(2004, 3, 1), Precision.MONTH, "2004-03"),
        ("1977", dt.date(1977, 1, 1), Precision.YEAR, "1977"),
    ],
)
def test_a_date_keeps_the_precision_its_source_gives(text, date, precision, shown):
    parsed = PartialDate.parse(text)
    assert (parsed.date, parsed.precision, str(parsed)) == (date, precision, shown)


def test_the_last_day_of_a_month_or_year():
    assert PartialDate.parse("2004-02").last_day == dt.date(2004, 2, 29)
    assert PartialDate.parse("2004").last_day == dt.date(2004, 12, 31)


@pytest.mark.parametrize("text", ["2004-02-30", "9 March 2004", "2004/03/09", "", "04-03-09"])
def test_a_wrong_date_is_refused_with_the_text_named(text):
    with pytest.raises(ValueError) as failure:
        PartialDate.parse(text)
    assert repr(text) in str(failure.value)


def test_fast_select_widgets_render_like_django_and_escape():
    from coopmatrix.core.filters import FastSelect, FastSelectMultiple

    widget = FastSelectMultiple(choices=[("A", "Alpha <b>"), ("B", 'Beta "quoted"')])
    html = widget.render("state", ["B"], attrs={"id": "id_state"})
    # A multiple choice is drawn as a searchable picker in the browser (coopmatrix.js).
    assert html.startswith(
        '<select id="id_state" data-placeholder="Type to search…" data-remove-label="Remove" name="state"'
        " data-picker multiple>"
    )
    assert '<option value="A">Alpha &lt;b&gt;</option>' in html
    assert '<option value="B" selected>Beta &quot;quoted&quot;</option>' in html
    single = FastSelect(choices=[("", "---------"), ("x", "X")]).render("kind", "x")
    assert '<option value="x" selected>X</option>' in single and "multiple" not in single

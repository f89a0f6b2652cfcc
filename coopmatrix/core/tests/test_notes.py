"""An import's notes (core.importing.Notes): past the few held in memory they wait in a file, and
come back whole and in order, to the command's report and to the preview page."""

from __future__ import annotations

from django.template.loader import render_to_string

from coopmatrix.core import importing
from coopmatrix.core.importing import Notes, Preview


def test_notes_past_memory_come_back_whole_and_in_order(monkeypatch):
    monkeypatch.setattr(importing, "NOTES_IN_MEMORY", 3)
    made = [f"line {n}: sector code '120' kept as given" for n in range(10)]
    made[6] = "two lines\nand « quotes » in Côte d'Ivoire"
    notes = Notes(made[:4])
    assert notes._file is not None  # the fourth went to the file
    halfway = iter(notes)
    assert [next(halfway) for _ in range(4)] == made[:4]  # the last read from the file
    notes.extend(made[4:])  # added while an iteration is under way
    assert list(halfway) == made[4:]
    assert list(notes) == made and len(notes) == 10 and bool(notes)
    assert any("Côte d'Ivoire" in note for note in notes)
    assert not Notes() and len(Notes()) == 0 and list(Notes()) == []


def test_the_preview_page_lists_the_notes_kept_in_the_file(monkeypatch):
    monkeypatch.setattr(importing, "NOTES_IN_MEMORY", 2)
    preview = Preview()
    preview.notes.extend(f"row {n}: read 'Cote d Ivoire' as Côte d'Ivoire (CIV)" for n in range(2, 7))
    page = render_to_string("core/partials/import_preview.html", {"preview": preview})
    assert all(f"row {n}: read" in page for n in range(2, 7))
    assert page.index("row 2:") < page.index("row 6:")

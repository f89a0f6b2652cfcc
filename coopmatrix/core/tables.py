"""Tables whose body is drawn in Python.

django-tables2 draws each cell through its generic accessor and template machinery, about
2 ms a row: most of the time of the matrix's first page. A table with FastRows keeps
django-tables2 for its header, sorting and pagination, and draws its rows from `cells()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from html import escape
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeData, SafeString, mark_safe

FAST_TEMPLATE = "core/fast_table.html"


class FastRows:
    """Mix into a django_tables2.Table, set Meta.template_name = FAST_TEMPLATE and define
    `cells(record)`: one escaped value per column, in the order of the columns."""

    #: Defined by each table: one escaped value per column, in the order of the columns. A plain
    #: annotation, not an abstract method: django-tables2's metaclass does not mix with ABCMeta.
    cells: Callable[[Any], Iterable[Any]]

    def prepare(self, records: list[Any]) -> None:
        """Fetch what the rows show for the whole page at once (override); called before `cells`."""

    def body_html(self) -> SafeString:
        bound = self.page.object_list if getattr(self, "page", None) else self.rows  # type: ignore[attr-defined]
        bound = list(bound)
        self.prepare([row.record for row in bound])
        # Plain html.escape and joins, not format_html: 50 rows of 8 cells went through Django's
        # lazy-aware helpers some 600 times a page. A cell already marked safe is kept as it is.
        # `cells` gives a value for every column; a column the user chose to hide is left out.
        shown = [column.visible for column in self.columns.iterall()]  # type: ignore[attr-defined]
        rows = [
            "<tr>"
            + "".join(
                f"<td>{_html(cell)}</td>"
                for cell, visible in zip(self.cells(row.record), shown, strict=True)
                if visible
            )
            + "</tr>"
            for row in bound
        ]
        if not rows:
            columns = len(self.columns)  # type: ignore[attr-defined]
            return format_html('<tr><td colspan="{}">{}</td></tr>', columns, self.empty_text or "")  # type: ignore[attr-defined]
        return mark_safe("".join(rows))  # noqa: S308 - every cell is escaped by _html


def _html(cell: Any) -> str:
    if isinstance(cell, SafeData):
        return str(cell)
    return escape(str(cell))

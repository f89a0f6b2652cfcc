"""The gap pages: requests waiting, the gap grid, and States not party without legislative
assistance; each as a page, CSV, XLSX and PDF (`?format=`)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from . import gaps
from .forms import GridForm, TreatyGapForm, WaitingForm
from .report import FORMATS, Report


def _format(request: HttpRequest) -> str | None:
    fmt = request.GET.get("format", "")
    return fmt if fmt in FORMATS else None


def _query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("format", None)
    return query.urlencode()


def _bad(request: HttpRequest, template: str, form: Any, title: Any) -> HttpResponse:
    return render(request, template, {"form": form, "title": title}, status=400)


# --- requests waiting -------------------------------------------------------------------------


def waiting_rows(request: HttpRequest, form: WaitingForm) -> list[gaps.Waiting]:
    data = form.cleaned_data
    return gaps.waiting_for(request.user, data.get("state"), data.get("stage"), data.get("overdue", False))


def requests_waiting(request: HttpRequest) -> HttpResponse:
    title = _("Requests waiting")
    form = WaitingForm(request.GET)
    if not form.is_valid():
        return _bad(request, "overlaps/waiting.html", form, title)
    rows = waiting_rows(request, form)
    fmt = _format(request)
    if fmt:
        report = Report(
            str(title),
            "requests-waiting",
            [
                "request",
                "state",
                "title",
                "received",
                "status",
                "waits at",
                "days waiting",
                "limit",
                "overdue",
                "answered by",
            ],
            [
                [
                    r.request.pk,
                    r.request.state.code,
                    r.request.title,
                    r.request.received.isoformat(),
                    r.request.status,
                    r.stage_label,
                    r.days,
                    "" if r.limit is None else r.limit,
                    "yes" if r.overdue else "no",
                    "; ".join(a.title for a in r.answers),
                ]
                for r in rows
            ],
            form.about(),
            {r.request.confidentiality for r in rows} | {a.confidentiality for r in rows for a in r.answers},
        )
        return report.response(request, fmt)
    context = {
        "form": form,
        "title": title,
        "rows": rows,
        "overdue": sum(1 for r in rows if r.overdue),
        "limits": [(gaps.STAGES[k], v) for k, v in _limits().items()],
        "query": _query(request),
    }
    return render(request, "overlaps/waiting.html", context)


def _limits() -> dict[str, int]:
    from django.conf import settings

    return settings.GAP_OVERDUE_DAYS


# --- the gap grid -----------------------------------------------------------------------------


def grid_of(request: HttpRequest, form: GridForm) -> gaps.GapGrid:
    data = form.cleaned_data
    return gaps.gap_grid(
        request.user,
        data.get("rows") or "state",
        data.get("period_from"),
        data.get("period_to"),
        form.states(),
    )


def _cell_links(grid: gaps.GapGrid, row: Any, area: Any) -> dict[str, str]:
    """Where a cell leads: the requests and the activities it counts, in their own lists."""
    where = {"region": row.m49} if grid.rows_by == "region" else {"state": row.code}
    period = {}
    if grid.period_from:
        period["period_from"] = grid.period_from.isoformat()
    if grid.period_to:
        period["period_to"] = grid.period_to.isoformat()
    requests = {**where, "thematic_area": area.code}
    if grid.period_from:
        requests["received_from"] = grid.period_from.isoformat()
    if grid.period_to:
        requests["received_to"] = grid.period_to.isoformat()
    return {
        "requests": reverse("matrix:request_list") + "?" + urlencode(requests),
        "activities": reverse("matrix:activity_list")
        + "?"
        + urlencode({**where, "thematic_area": area.code, **period}),
    }


def gap_grid(request: HttpRequest) -> HttpResponse:
    title = _("Gaps: needs and assistance by State and thematic area")
    form = GridForm(request.GET)
    if not form.is_valid():
        return _bad(request, "overlaps/gap_grid.html", form, title)
    grid = grid_of(request, form)
    fmt = _format(request)
    if fmt:
        lines = []
        for row in grid.rows:
            for area in grid.areas:
                cell = grid.cell(row, area)
                if cell.kind:
                    lines.append(
                        [str(row), area.name, cell.label, cell.requests, cell.unanswered, cell.activities]
                    )
        report = Report(
            str(title),
            "gap-grid",
            ["State or region", "thematic area", "cell", "needs recorded", "not answered", "activities"],
            lines,
            form.about(),
            _levels_of_grid(request, form),
        )
        return report.response(request, fmt)
    table = [
        {
            "row": row,
            "cells": [
                {"area": area, "cell": grid.cell(row, area), **_cell_links(grid, row, area)}
                for area in grid.areas
            ],
        }
        for row in grid.rows
    ]
    context = {
        "form": form,
        "title": title,
        "grid": grid,
        "table": table,
        "totals": grid.totals(),
        "labels": gaps.CELL_LABELS,
        "query": _query(request),
    }
    return render(request, "overlaps/gap_grid.html", context)


def _levels_of_grid(request: HttpRequest, form: GridForm) -> set[str]:
    from coopmatrix.matrix.models import Activity, Request

    levels = set(
        Request.objects.visible_to(request.user).values_list("confidentiality", flat=True).distinct()
    )
    return levels | set(
        Activity.objects.visible_to(request.user).values_list("confidentiality", flat=True).distinct()
    )


# --- States not party without legislative assistance -----------------------------------------


def treaty_gaps_of(request: HttpRequest, form: TreatyGapForm) -> list[gaps.TreatyGap]:
    data = form.cleaned_data
    return gaps.treaty_gaps(
        request.user,
        data["as_at"],
        data["period_from"],
        data["period_to"],
        data.get("instrument") or None,
        form.states(),
    )


def _treaty_gaps_printed(found: list[gaps.TreatyGap]) -> tuple[list[str], list[list[Any]]]:
    """One line per instrument and standing, its States named in a paragraph: the page's own
    layout, printable (one line per State would be some 3,700 lines for the nineteen instruments)."""
    header = ["instrument", "legislative assistance in the period", "States", "treaty actions recorded"]
    lines = []
    for gap in found:
        for label, states in (("no assistance", gap.unassisted), ("assisted, not party yet", gap.assisted)):
            if states:
                named = "; ".join(f"{state.name_en} ({state.code})" for state in states)
                lines.append([gap.instrument.short_title, label, f"{len(states)}: {named}", gap.recorded])
    return header, lines


def treaty_gaps(request: HttpRequest) -> HttpResponse:
    title = _("Gaps: States not party without legislative assistance")
    form = TreatyGapForm(request.GET, user=request.user)
    if not form.is_valid():
        return _bad(request, "overlaps/treaty_gaps.html", form, title)
    found = treaty_gaps_of(request, form)
    fmt = _format(request)
    if fmt:
        lines = [
            [gap.instrument.short_title, state.code, state.name_en, "no assistance", gap.recorded]
            for gap in found
            for state in gap.unassisted
        ] + [
            [gap.instrument.short_title, state.code, state.name_en, "assisted, not party yet", gap.recorded]
            for gap in found
            for state in gap.assisted
        ]
        report = Report(
            str(title),
            "treaty-gaps",
            [
                "instrument",
                "state",
                "state name",
                "legislative assistance in the period",
                "treaty actions recorded",
            ],
            lines,
            form.about(),
            {gap.instrument.confidentiality for gap in found},
            printed=_treaty_gaps_printed(found),
            widths=[13, 11, 70, 6],
        )
        return report.response(request, fmt)
    context = {"form": form, "title": title, "found": found, "query": _query(request)}
    return render(request, "overlaps/treaty_gaps.html", context)

"""The monthly matrix: ongoing and planned activities per country, region and sub-region, as the
records stood at the end of the month (paragraph 62 of the report of 17 March 2004).

Built from history, not from today's values: an activity completed in April still shows as
ongoing in March's matrix, one recorded in May does not show in March's at all. For months
before the records were kept (the report's own 2004), the "period" basis rebuilds the matrix from
today's records whose dates cover the month, and says so on its cover.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils import timezone

from coopmatrix.core.dates import format_partial
from coopmatrix.core.history import end_of_day
from coopmatrix.core.models import CONFIDENTIALITY_ORDER, Confidentiality
from coopmatrix.core.querysets import visibility_q
from coopmatrix.core.roles import principal_for
from coopmatrix.directory.models import Organization
from coopmatrix.geo.models import Region, State

from .models import Activity, ActivityProvider

SHOWN_STATUSES = (Activity.Status.PIPELINE, Activity.Status.PLANNED, Activity.Status.ONGOING)
BY_CHOICES = ("country", "subregion", "region")
BASES = {
    "records": "as the records stood at the end of the month",
    "period": "rebuilt from today's records whose dates cover the month",
}


@dataclass
class Line:
    title: str
    providers: str
    status: str
    modality: str
    period: str
    confidentiality: str


@dataclass
class Group:
    key: str
    name: str
    lines: list[Line] = field(default_factory=list)


@dataclass
class MonthlyMatrix:
    month: dt.date
    as_at: dt.datetime
    by: str
    groups: list[Group]
    highest: str
    prepared_for: str
    basis: str = "records"

    @property
    def title(self) -> str:
        by = {"country": "per country", "subregion": "per sub-region", "region": "per region"}[self.by]
        return f"Matrix of ongoing and planned technical assistance activities, {self.month:%B %Y}, {by}"

    @property
    def count(self) -> int:
        return len({(g.key, line.title) for g in self.groups for line in g.lines})


def parse_month(text: str) -> dt.date:
    """YYYY-MM → the first day of that month; ValueError naming the text otherwise."""
    try:
        year, month = (int(part) for part in text.split("-"))
        return dt.date(year, month, 1)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{text!r} is not a month: write YYYY-MM") from exc


def end_of_month(month: dt.date) -> dt.datetime:
    return end_of_day(month.replace(day=calendar.monthrange(month.year, month.month)[1]))


# Labels looked up once: a month of a large matrix has hundreds of thousands of lines.
STATUS_LABELS = {value: str(label) for value, label in Activity.Status.choices}
MODALITY_LABELS = {value: str(label) for value, label in Activity.Modality.choices}
ROW_FIELDS = (
    "id",
    "title",
    "status",
    "modality",
    "confidentiality",
    *Activity.DATE_COLUMNS,
)


def build(month: dt.date, by: str, user: Any, basis: str = "records") -> MonthlyMatrix:
    if by not in BY_CHOICES:
        raise ValueError(f"by must be one of {', '.join(BY_CHOICES)}, not {by!r}")
    if basis not in BASES:
        raise ValueError(f"basis must be one of {', '.join(BASES)}, not {basis!r}")
    when = end_of_month(month)
    records, providers = _from_history(when, user) if basis == "records" else _from_period(month, when, user)
    states = {s.pk: s for s in State.objects.select_related("region", "subregion")}
    regions = {r.pk: r for r in Region.objects.all()}
    groups: dict[str, Group] = {}
    highest = 0
    for record in records:
        line = Line(
            title=record["title"],
            providers=", ".join(providers.get(record["id"], [])),
            status=STATUS_LABELS.get(record["status"], record["status"]),
            modality=MODALITY_LABELS.get(record["modality"], record["modality"]),
            period=_period(record),
            confidentiality=record["confidentiality"],
        )
        highest = max(highest, CONFIDENTIALITY_ORDER.index(record["confidentiality"]))
        for key, name in _keys(record, by, states, regions):
            groups.setdefault(key, Group(key, name)).lines.append(line)
    ordered = sorted(groups.values(), key=lambda g: g.name)
    for group in ordered:
        group.lines.sort(key=lambda line: line.title)
    return MonthlyMatrix(
        month=month,
        as_at=when,
        by=by,
        basis=basis,
        groups=ordered,
        highest=str(Confidentiality(CONFIDENTIALITY_ORDER[highest]).label) if records else "—",
        prepared_for=user.get_username() if getattr(user, "is_authenticated", False) else "the public",
    )


Rows = list[dict[str, Any]]


def _from_history(when: dt.datetime, user: Any) -> tuple[Rows, dict[int, list[str]]]:
    """The activities as they stood at `when`, with their recipients and providers then.

    The related rows are selected by sub-queries, not by lists of ids: a month of a million-activity
    matrix holds some 200,000 activities, and a list that long costs more to send than to join."""
    from django.apps import apps

    latest = (
        Activity.history.filter(history_date__lte=when)
        .latest_of_each()
        .exclude(history_type="-")
        .filter(status__in=SHOWN_STATUSES)
        # Still to come or under way in the month by its own dates: a 2003 workshop left
        # "ongoing" in the records is not in the matrix of a later month.
        .filter(models.Q(period_end__gte=when.date().replace(day=1)) | models.Q(period_end__isnull=True))
        .filter(visibility_q(Activity, principal_for(user), as_at=when))
    )
    rows = {row["history_id"]: row for row in latest.values("history_id", *ROW_FIELDS)}
    for row in rows.values():
        row["state_ids"], row["region_ids"] = [], []
    # simple-history keeps each historical row's recipients, as they were, in these tables.
    for key, name, field_name in (
        ("state_ids", "recipient_states", "state_id"),
        ("region_ids", "recipient_regions", "region_id"),
    ):
        through = apps.get_model("matrix", f"HistoricalActivity_{name}")
        links = through.objects.filter(history_id__in=latest.values("history_id"))
        for history_id, target in links.values_list("history_id", field_name).iterator(chunk_size=20_000):
            if history_id in rows:
                rows[history_id][key].append(target)
    providers = (
        ActivityProvider.history.filter(history_date__lte=when)
        .latest_of_each()
        .exclude(history_type="-")
        .filter(activity_id__in=latest.values("id"))
    )
    return list(rows.values()), _provider_labels(providers, user)


def _from_period(month: dt.date, when: dt.datetime, user: Any) -> tuple[Rows, dict[int, list[str]]]:
    current = (
        Activity.objects.visible_to(user)
        .exclude(status=Activity.Status.CANCELLED)
        .filter(period_start__lte=when.date())
        .filter(models.Q(period_end__gte=month) | models.Q(period_end__isnull=True))
    )
    rows = {row["id"]: {**row, "state_ids": [], "region_ids": []} for row in current.values(*ROW_FIELDS)}
    for key, through, field_name in (
        ("state_ids", Activity.recipient_states.through, "state_id"),
        ("region_ids", Activity.recipient_regions.through, "region_id"),
    ):
        links = through.objects.filter(activity_id__in=current.values("id"))
        for activity_id, target in links.values_list("activity_id", field_name).iterator(chunk_size=20_000):
            if activity_id in rows:
                rows[activity_id][key].append(target)
    providers = ActivityProvider.objects.filter(activity_id__in=current.values("id"))
    return list(rows.values()), _provider_labels(providers, user)


def _keys(record: dict[str, Any], by: str, states: dict[int, State], regions: dict[int, Region]):
    seen = set()
    for state_id in record["state_ids"]:
        state = states[state_id]
        if by == "country":
            key, name = state.code, state.name_en
        else:
            area = state.subregion if by == "subregion" else state.region
            if area is None:
                continue
            key, name = str(area.m49), area.name
        if key not in seen:
            seen.add(key)
            yield key, name
    for region_id in record["region_ids"]:
        area = regions[region_id]
        # An activity for a whole region is listed under that region, at any grouping.
        key = f"region-{area.m49}"
        if key not in seen:
            seen.add(key)
            yield key, f"{area.name} (region as a whole)"


def _provider_labels(providers: models.QuerySet, user: Any) -> dict[int, list[str]]:
    """Acronyms (or names) of the providers the user may see, per activity id."""
    visible = Organization.objects.visible_to(user)
    labels = {pk: acronym or name for pk, acronym, name in visible.values_list("pk", "acronym", "name")}
    result: dict[int, list[str]] = defaultdict(list)
    rows = providers.filter(organization_id__in=list(labels)).values_list("activity_id", "organization_id")
    for activity_id, organization_id in rows.iterator(chunk_size=20_000):
        result[activity_id].append(labels[organization_id])
    return result


def _period(record: dict[str, Any]) -> str:
    start = format_partial(record["actual_start"], record["actual_start_precision"]) or format_partial(
        record["planned_start"], record["planned_start_precision"]
    )
    end = format_partial(record["actual_end"], record["actual_end_precision"]) or format_partial(
        record["planned_end"], record["planned_end_precision"]
    )
    return f"{start or '…'} – {end or '…'}"


def as_xlsx(matrix: MonthlyMatrix, handle: Any) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from coopmatrix.core.exports import add_row

    workbook = Workbook()
    cover = workbook.active
    cover.title = "Cover"
    for label, value in _cover(matrix):
        add_row(cover, [label, value])
    cover["A1"].font = Font(bold=True)
    sheet = workbook.create_sheet("Matrix")
    add_row(sheet, ["group", "activity", "providers", "status", "modality", "period", "confidentiality"])
    for group in matrix.groups:
        for line in group.lines:
            add_row(
                sheet,
                [
                    group.name,
                    line.title,
                    line.providers,
                    line.status,
                    line.modality,
                    line.period,
                    line.confidentiality,
                ],
            )
    workbook.save(handle)


def as_pdf(matrix: MonthlyMatrix) -> bytes:
    from django.template.loader import render_to_string
    from weasyprint import HTML

    html = render_to_string("matrix/monthly_pdf.html", {"matrix": matrix, "cover": _cover(matrix)})
    return HTML(string=html).write_pdf()


def _cover(matrix: MonthlyMatrix) -> list[tuple[str, str]]:
    return [
        (matrix.title, ""),
        ("Basis", BASES[matrix.basis]),
        ("As at", timezone.localtime(matrix.as_at).strftime("%Y-%m-%d %H:%M %Z")),
        ("Prepared for", matrix.prepared_for),
        ("Groups", str(len(matrix.groups))),
        ("Highest confidentiality inside", matrix.highest),
        ("Produced", timezone.localtime().strftime("%Y-%m-%d %H:%M %Z")),
    ]


def send_to_subscribers(month: dt.date) -> int:
    """E-mail a month's matrix to every subscriber not yet sent it, each as they see it (the
    visibility rule of the subscriber); the number of e-mails sent. A rerun sends no e-mail twice."""
    import io

    from django.core.mail import EmailMessage

    from .models import MonthlyMatrixSubscription

    sent = 0
    subscriptions = MonthlyMatrixSubscription.objects.select_related("user").filter(user__is_active=True)
    for subscription in subscriptions.exclude(last_sent_month=month):
        user = subscription.user
        if not user.email:
            continue
        matrix = build(month, subscription.by, user)
        name = f"monthly-matrix-{month:%Y-%m}-{subscription.by}.{subscription.format}"
        if subscription.format == "pdf":
            content, mime = as_pdf(matrix), "application/pdf"
        else:
            buffer = io.BytesIO()
            as_xlsx(matrix, buffer)
            content, mime = (
                buffer.getvalue(),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        message = EmailMessage(
            matrix.title,
            f"{matrix.title}\nHighest confidentiality inside: {matrix.highest}.",
            to=[user.email],
        )
        message.attach(name, content, mime)
        message.send()
        subscription.last_sent_month = month
        subscription.save(update_fields=["last_sent_month"])
        sent += 1
    return sent


def previous_month(today: dt.date) -> dt.date:
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def mailing_job(job: Any, tracker: Any) -> Any:
    """The scheduled job (early each month): last month's matrix to its subscribers."""
    from django.utils import timezone

    from coopmatrix.core.jobs import Outcome

    month = previous_month(timezone.localdate())
    tracker.step(f"Sending the matrix of {month:%Y-%m}")
    sent = send_to_subscribers(month)
    return Outcome(f"The monthly matrix of {month:%Y-%m} was sent to {sent} subscriber(s).")

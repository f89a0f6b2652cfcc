"""IATI transactions as contributions: what an imported activity's publisher says was committed
to it or paid to it becomes a pledge or a payment, with the transaction as its source.

| IATI transaction type | contribution |
| --- | --- |
| 1 Incoming Funds | payment from the provider-org to the activity |
| 11 Incoming Commitment | pledge from the provider-org to the activity |
| 2 Outgoing Commitment | pledge from the provider-org (else the reporting-org) to the activity |
| 3 Disbursement | payment from the provider-org (else the reporting-org) to the activity |
| others (expenditure, interest, loans, …) | none: not a contribution to the activity |

The donor is the directory's organization with the provider's IATI identifier, else with its
name (exactly, whatever the case); a transaction whose donor is not in the directory, or whose
value is not more than zero (a reversal), is left out and counted. Each contribution is known by
the activity's identifier and the transaction's place in it (`iati:<identifier>#<n>`), so that
importing the file again changes nothing, and a transaction the publisher removed takes its
contribution with it.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from . import sums
from .models import AMOUNT, Contribution, last_day

KINDS = {"1": "payment", "11": "pledge", "2": "pledge", "3": "payment"}
#: Types whose donor is the reporting organisation when the transaction names no provider.
REPORTER_GIVES = ("2", "3")
LIMIT = Decimal(10) ** (AMOUNT["max_digits"] - AMOUNT["decimal_places"])
CENT = Decimal("0.01")
#: IATI records brought in line at a time.
CHUNK = 250
#: The reason the history rows of the contributions made or changed from IATI give.
REASON = "from an IATI transaction"


class _Donors:
    def __init__(self) -> None:
        from coopmatrix.directory.models import Organization

        rows = Organization.objects.values_list("pk", "iati_identifier", "name")
        self.by_ref = {ref.strip().lower(): pk for pk, ref, _name in rows if ref}
        self.by_name = {name.strip().lower(): pk for pk, _ref, name in rows}

    def find(self, organisation: dict[str, Any]) -> int | None:
        ref = str(organisation.get("ref") or "").strip().lower()
        if ref and ref in self.by_ref:
            return self.by_ref[ref]
        for name in (organisation.get("name") or {}).values():
            found = self.by_name.get(str(name).strip().lower())
            if found:
                return found
        return None


def sync(records: list[int], user: Any = None) -> Counter:
    """Bring the contributions of these IATI records in line with their transactions; returns
    what was done and what was left out, by reason. New contributions are written together, with
    their history rows (core.bulk): an import makes thousands of them (a few hundred records'
    worth at a time, so that memory stays flat whatever the file's size)."""
    done: Counter = Counter()
    donors = _Donors()
    ordered = sorted(records)
    for start in range(0, len(ordered), CHUNK):
        _sync_chunk(ordered[start : start + CHUNK], user, donors, done)
    return done


def _sync_chunk(records: list[int], user: Any, donors: _Donors, done: Counter) -> None:
    from django.utils import timezone

    from coopmatrix.core import bulk
    from coopmatrix.exchange.models import IatiRecord, IatiTransaction

    # What a contribution is made of, read as values: a record's titles, descriptions and
    # organisations (JSON decoded for each of thousands) are not needed here.
    chosen = list(
        IatiRecord.objects.filter(pk__among=records)
        .order_by("pk")
        .values("pk", "identifier", "file", "reporting_org", "activity_id", "activity__owner_id")
    )
    # Each record's contributions, by the prefix of their key (`iati:<identifier>#`).
    existing: dict[str, dict[str, Contribution]] = {}
    for contribution in Contribution.objects.filter(
        activity_id__among=[r["activity_id"] for r in chosen], external_id__startswith="iati:"
    ):
        prefix = contribution.external_id.rsplit("#", 1)[0] + "#"
        existing.setdefault(prefix, {})[contribution.external_id] = contribution
    transactions: dict[int, list[dict[str, Any]]] = {}
    for transaction in (
        IatiTransaction.objects.filter(record_id__among=[r["pk"] for r in chosen])
        .order_by("pk")
        .values("pk", "record_id", "ref", "type", "date", "value", "currency", "provider")
    ):
        transactions.setdefault(transaction["record_id"], []).append(transaction)
    new: list[dict[str, Any]] = []
    changed: list[Contribution] = []
    names: list[str] = []  # the fields `_fields` gives, the same for each contribution
    for record in chosen:
        prefix = f"iati:{record['identifier']}#"
        kept = existing.get(prefix, {})
        for n, transaction in enumerate(transactions.get(record["pk"], []), start=1):
            fields = _fields(record, transaction, donors, done)
            if fields is None:
                continue
            key = f"{prefix}{n}"
            current = kept.pop(key, None)
            if current is None:
                new.append({"external_id": key, "owner_id": record["activity__owner_id"], **fields})
                done["created"] += 1
                continue
            if all(getattr(current, k) == v for k, v in fields.items()):
                done["unchanged"] += 1
                continue
            done["updated"] += 1
            for name, value in fields.items():
                setattr(current, name, value)
            changed.append(current)
            names = names or list(fields)
        for gone in kept.values():
            gone.delete()
            done["removed"] += 1
    when = timezone.now()
    if changed:
        # Written together (core.bulk.update), with their history rows and their sums: saved one
        # by one, each wrote its history row and asked for its sums alone; Django's bulk_update
        # (a CASE for each field) took longer still. Their sums are brought up to date from what
        # was counted of them before (sums.refresh), as after a save.
        bulk.update(Contribution, changed, names)
        bulk.history_rows(Contribution, changed, user, REASON, when, kind="~")
        sums.changed([c.pk for c in changed] + [c.settles_id for c in changed if c.settles_id])
    if new:
        # Rows of values, not objects: an import makes some six contributions an activity. Each
        # made here, from `_fields`: the same fields, in the same order.
        rows = [tuple(values.values()) for values in new]
        made = bulk.values_with_history(Contribution, list(new[0]), rows, user, REASON, when)
        sums.changed(made)


def _fields(
    record: dict[str, Any], transaction: dict[str, Any], donors: _Donors, done: Counter
) -> dict[str, Any] | None:
    """A contribution's fields from a transaction; None when it makes none."""
    kind = KINDS.get(transaction["type"])
    if kind is None:
        done[f"type {transaction['type']}: not a contribution"] += 1
        return None
    donor = donors.find(transaction["provider"] or {})
    if donor is None and transaction["type"] in REPORTER_GIVES and not transaction["provider"]:
        donor = donors.find(record["reporting_org"] or {})
    if donor is None:
        done["donor not in the directory"] += 1
        return None
    amount = Decimal(transaction["value"]).quantize(CENT)
    if amount <= 0 or amount >= LIMIT:
        done["value not more than zero, or too large"] += 1
        return None
    return {
        "donor_state_id": None,
        "donor_organization_id": donor,
        "activity_id": record["activity_id"],
        "fund_id": None,
        "programme_id": None,
        "kind": kind,
        "earmarking": "earmarked",
        "amount": amount,
        "currency": transaction["currency"],
        "date": transaction["date"],
        "date_precision": "day",
        "made_by": last_day(transaction["date"], "day"),
        "iati_transaction_id": transaction["pk"],
        "confidentiality": "public",
        "source": f"IATI transaction {transaction['ref'] or ''} of {record['identifier']}, "
        f"type {transaction['type']} (file {record['file']})".replace("  ", " "),
    }


def on_records_written(sender: Any, records: list[int], user: Any = None, **kwargs: Any) -> None:
    with sums.batch():
        sync(records, user)

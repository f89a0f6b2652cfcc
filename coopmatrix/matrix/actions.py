"""Writes that do more than save: each checks the edit rule and runs in one transaction.

Pages, the API and commands call these, so a record is written the same way whatever the door.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, cast

import pycountry
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Choices, ManyToManyField, ProtectedError
from django.utils import timezone

from coopmatrix.core.dates import PartialDate
from coopmatrix.core.errors import InUse, Invalid, check_fields, check_level_change
from coopmatrix.core.models import Confidentiality
from coopmatrix.core.roles import principal_for
from coopmatrix.directory.models import Organization, with_units
from coopmatrix.geo.models import Region, State
from coopmatrix.geo.resolver import StateResolver
from coopmatrix.treaties.models import Instrument
from coopmatrix.vocabulary.models import ThematicArea

from . import counts
from .models import Activity, ActivityProvider, Programme, Referral, Request


def _owner(user: Any, code: str | None, errors: dict[str, str]) -> Organization | None:
    """The owner of a new record: the user's organization unless the secretariat names another."""
    principal = principal_for(user)
    if code:
        owner = Organization.objects.visible_to(user).filter(code=code).first()
        if owner is None:
            errors["owner"] = f"no organization with code {code!r}"
        elif not principal.sees_everything and owner.pk != principal.organization_id:
            errors["owner"] = "you may only create records owned by your own organization"
        return owner
    if principal.organization_id:
        return Organization.objects.get(pk=principal.organization_id)
    if not principal.sees_everything:
        errors["owner"] = "an owner organization is required"
    return None


def _dates(data: dict[str, Any], names: tuple[str, ...], errors: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in names:
        text = data.get(name)
        if not text:
            values[name], values[f"{name}_precision"] = None, ""
            continue
        try:
            parsed = PartialDate.parse(str(text))
        except ValueError as exc:
            errors[name] = str(exc)
            continue
        values[name], values[f"{name}_precision"] = parsed.date, parsed.precision
    return values


def _check_order(fields: dict[str, Any], start: str, end: str, errors: dict[str, str]) -> None:
    """An end may not come before the start. A partial end stands for its whole month or year:
    a start in May 2006 and an end "2006" agree."""
    if not (fields.get(start) and fields.get(end)) or end in errors:
        return
    first = PartialDate(fields[start], fields[f"{start}_precision"])
    last = PartialDate(fields[end], fields[f"{end}_precision"])
    if last.last_day < first.date:
        errors[end] = f"ends ({last}) before it starts ({first})"


def _currency(code: str, errors: dict[str, str]) -> str:
    if code and pycountry.currencies.get(alpha_3=code.upper()) is None:
        errors["currency"] = f"{code!r} is not an ISO 4217 currency code"
    return code.upper()


def _by_code(
    user: Any, model: Any, codes: list[str], field: str, errors: dict[str, str], key: str = "code"
) -> list[Any]:
    """The records named by `codes`; one the user may not see reads as unknown, like a missing one."""
    records = model.objects.all()
    if hasattr(records, "visible_to"):
        records = records.visible_to(user)
    found = {getattr(o, key): o for o in records.filter(**{f"{key}__in": codes})}
    missing = [c for c in codes if c not in found]
    if missing:
        errors[field] = f"unknown: {', '.join(map(str, missing))}"
    return [found[c] for c in codes if c in found]


def _check_confidentiality(value: str, errors: dict[str, str]) -> str:
    if not _is_choice(value, Confidentiality):
        errors["confidentiality"] = f"must be one of {', '.join(Confidentiality.values)}"
    return value


# Attributing work to another organization (naming it as a provider or as the managing
# organization, placing a record under its programme, marking its request answered) is a claim
# about that organization's work that it has not made. Only the secretariat, which checks such
# claims, attributes; an editor records its own organization's part (or its units'), and keeps
# what the secretariat attributed before. A proposal the other organization accepts would add a
# second queue beside the secretariat's, for a case the secretariat settles today.
ATTRIBUTION = (
    "only the secretariat attributes work to another organization: record your own organization's "
    "part, or ask the secretariat"
)


def own_organizations(user: Any) -> set[int] | None:
    """The organizations whose work the user may record: their own and its units; None: any."""
    principal = principal_for(user)
    if principal.sees_everything:
        return None
    if not principal.organization_id:
        return set()
    # Kept on the user for the request or the import: an import asks once per row.
    cached = getattr(user, "_coopmatrix_own_organizations", None)
    if cached is None or cached[0] != principal.organization_id:
        cached = (principal.organization_id, with_units([principal.organization_id]))
        user._coopmatrix_own_organizations = cached
    return cached[1]


def _programme_is_own(programme: Programme, own: set[int]) -> bool:
    return programme.owner_id in own or programme.organization_id in own


class Lookups:
    """Codes and names a user may refer to, loaded once (one import checks thousands of rows)."""

    def __init__(self, user: Any, accept_uncertain: bool = False) -> None:
        self.user = user
        # An import's preview takes a name read by pattern or close spelling and shows it for
        # confirmation; the API and the pages refuse it naming the State it would have been.
        self.resolver = StateResolver(accept_uncertain=accept_uncertain)
        self.organizations = {o.code: o for o in Organization.objects.visible_to(user)}
        self.programmes = {p.code: p for p in Programme.objects.visible_to(user)}
        self.themes = {t.code: t for t in ThematicArea.objects.all()}
        self.instruments = {i.code: i for i in Instrument.objects.visible_to(user)}
        self.regions = {r.m49: r for r in Region.objects.all()}
        #: External identifier → activity, when the caller loaded those of all its rows at once
        #: (an import of thousands); None: each is looked up.
        self.external_ids: dict[str, int] | None = None
        #: The activities the user may change among those the caller checks (read at once with
        #: them); None: each is asked.
        self.editable: set[int] | None = None


@dataclass
class CleanActivity:
    fields: dict[str, Any]
    programme: Programme | None
    providers: list[tuple[Organization, str]]
    states: list[State]
    regions: list[Region]
    themes: list[ThematicArea]
    instruments: list[Instrument]
    #: The requests it answers (None: leave them as they are), with those the user cannot see kept.
    requests: list[Request] | None = None

    def same_as(self, activity: Activity, links: Links | None = None) -> bool:
        """Whether writing would change nothing (an import rerun must add no history). `links`:
        the activity's links, read with those of the other activities an import compares
        (`links_of`); else read here."""
        if any(getattr(activity, name) != value for name, value in self.fields.items() if name != "owner"):
            return False
        kept = links if links is not None else links_of([activity.pk])[activity.pk]
        return (
            activity.programme_id == (self.programme.pk if self.programme else None)
            and kept.providers == {(o.pk, role) for o, role in self.providers}
            and kept.states == _keys(self.states)
            and kept.regions == _keys(self.regions)
            and kept.themes == _keys(self.themes)
            and kept.instruments == _keys(self.instruments)
            and (self.requests is None or kept.requests == _keys(self.requests))
        )


@dataclass
class Links:
    """An activity's links as `CleanActivity.same_as` compares them: keys only."""

    providers: set[tuple[int, str]] = field(default_factory=set)
    states: set[int] = field(default_factory=set)
    regions: set[int] = field(default_factory=set)
    themes: set[int] = field(default_factory=set)
    instruments: set[int] = field(default_factory=set)
    requests: set[int] = field(default_factory=set)


#: Each link `Links` holds, by the activity's many-to-many field that makes it.
_LINKED = {
    "states": "recipient_states",
    "regions": "recipient_regions",
    "themes": "thematic_areas",
    "instruments": "instruments",
    "requests": "requests",
}


def links_of(activity_ids: Iterable[int]) -> dict[int, Links]:
    """The links of these activities, one query a kind of link for them all, keys only: an import
    compares thousands of activities, and Django's prefetch made a query set for each link of
    each (some 0.8 s of a rerun of 2,000 under the profiler)."""
    ids = list(activity_ids)
    found = {pk: Links() for pk in ids}
    for pk, organization, role in ActivityProvider.objects.filter(activity_id__among=ids).values_list(
        "activity_id", "organization_id", "role"
    ):
        found[pk].providers.add((organization, role))
    for name, field_name in _LINKED.items():
        many = cast(ManyToManyField, Activity._meta.get_field(field_name))
        own, other = f"{many.m2m_field_name()}_id", f"{many.m2m_reverse_field_name()}_id"
        through: Any = many.remote_field.through
        for pk, key in through.objects.filter(**{f"{own}__among": ids}).values_list(own, other):
            getattr(found[pk], name).add(key)
    return found


def _is_choice(value: Any, choices: type[Choices]) -> bool:
    """Whether `value` is one of the choices' values (an import checks thousands of rows: Django
    makes the list of values again on each ask)."""
    try:
        return value in _values_of(choices)
    except TypeError:  # a value that cannot be hashed (a list sent to the API) is none of them
        return False


@cache
def _values_of(choices: type[Choices]) -> frozenset[Any]:
    return frozenset(choices.values)


def _keys(records: Iterable[Any]) -> set[Any]:
    return {r.pk for r in records}


def check_may_write(user: Any, activity: Activity | None, editable: set[int] | None = None) -> None:
    """`editable`: the activities the user may change among those a caller checks together (an
    import's chunk), read at once; None: asked for this one."""
    principal = principal_for(user)
    if activity is not None and not (
        activity.pk in editable
        if editable is not None
        else Activity.objects.editable_by(user).filter(pk=activity.pk).exists()
    ):
        raise PermissionDenied("you may not change this activity")
    if activity is None and not (principal.sees_everything or principal.may_edit_own):
        raise PermissionDenied("your role may not record activities")


def clean_activity(
    user: Any,
    data: dict[str, Any],
    activity: Activity | None = None,
    lookups: Lookups | None = None,
    modality_required: bool = True,
) -> CleanActivity:
    """Check an activity's data; Invalid names every field at fault. Nothing is written.
    `modality_required` off: an empty modality is "not recorded" (IATI, which has none)."""
    check_may_write(user, activity, lookups.editable if lookups else None)
    lookups = lookups or Lookups(user)
    errors: dict[str, str] = {}
    fields: dict[str, Any] = {
        "title": (data.get("title") or "").strip(),
        "description": data.get("description") or "",
        "external_id": data.get("external_id") or None,
        "modality": data.get("modality") or "",
        "status": data.get("status"),
        "currency": _currency(data.get("currency") or "", errors),
        "budget": _budget(data.get("budget"), errors),
        "people_trained": _whole(data.get("people_trained"), "people_trained", errors),
        "outcome_documents": data.get("outcome_documents") or "",
        "source": data.get("source") or "",
        "confidentiality": _check_confidentiality(
            data.get("confidentiality") or Confidentiality.PUBLIC, errors
        ),
    }
    if not fields["title"]:
        errors["title"] = "a title is required"
    if not _is_choice(fields["modality"], Activity.Modality) and (modality_required or fields["modality"]):
        errors["modality"] = f"must be one of {', '.join(Activity.Modality.values)}"
    if not _is_choice(fields["status"], Activity.Status):
        errors["status"] = f"must be one of {', '.join(Activity.Status.values)}"
    if fields["budget"] is not None and not fields["currency"]:
        errors["currency"] = "a budget needs its currency"
    fields.update(_dates(data, ("planned_start", "planned_end", "actual_start", "actual_end"), errors))
    for kind in ("planned", "actual"):
        _check_order(fields, f"{kind}_start", f"{kind}_end", errors)
    programme = None
    if data.get("programme"):
        programme = lookups.programmes.get(data["programme"])
        if programme is None:
            errors["programme"] = f"no programme with code {data['programme']!r}"
    providers = _providers(lookups, data.get("providers") or [], errors)
    _check_attribution(user, activity, programme, providers, errors)
    began = fields.get("actual_start") or fields.get("planned_start")
    states = _states(lookups, data.get("recipient_states") or [], errors, began)
    regions = _pick(
        lookups.regions, _m49s(data.get("recipient_regions") or [], errors), "recipient_regions", errors
    )
    themes = _pick(lookups.themes, data.get("thematic_areas") or [], "thematic_areas", errors)
    instruments = _pick(lookups.instruments, data.get("instruments") or [], "instruments", errors)
    if activity is None:
        fields["owner"] = _owner(user, data.get("owner"), errors)
    if fields["external_id"] and _taken(fields["external_id"], activity, lookups):
        # The same words whether the other activity is one the user may see or not.
        errors["external_id"] = (
            f"{fields['external_id']!r} cannot be used: external identifiers are unique across "
            "coopmatrix; choose another"
        )
    requests = _answered_requests(user, data.get("requests"), activity, errors)
    check_fields(Activity, fields, errors)
    check_level_change(user, activity, fields["confidentiality"], errors)
    if errors:
        raise Invalid(errors)
    return CleanActivity(fields, programme, providers, states, regions, themes, instruments, requests)


def _taken(external_id: str, activity: Activity | None, lookups: Lookups) -> bool:
    if lookups.external_ids is not None:
        holder = lookups.external_ids.get(external_id)
        return holder is not None and holder != (activity.pk if activity else None)
    clash = Activity.objects.filter(external_id=external_id)
    if activity is not None:
        clash = clash.exclude(pk=activity.pk)
    return clash.exists()


def _check_attribution(
    user: Any,
    activity: Activity | None,
    programme: Programme | None,
    providers: list[tuple[Organization, str]],
    errors: dict[str, str],
) -> None:
    own = own_organizations(user)
    if own is None:
        return
    kept = set(activity.provider_roles.values_list("organization_id", flat=True)) if activity else set()
    others = sorted({o.code for o, _role in providers if o.pk not in own and o.pk not in kept})
    if others:
        errors["providers"] = f"{', '.join(others)}: {ATTRIBUTION}"
    unchanged = activity is not None and programme is not None and activity.programme_id == programme.pk
    if programme is not None and not unchanged and not _programme_is_own(programme, own):
        errors["programme"] = f"{programme.code} is another organization's programme: {ATTRIBUTION}"


def _answered_requests(
    user: Any, ids: list[Any] | None, activity: Activity | None, errors: dict[str, str]
) -> list[Request] | None:
    if ids is None:
        return None
    try:
        wanted = {int(pk) for pk in ids}
    except (TypeError, ValueError):
        errors["requests"] = "request numbers must be whole numbers"
        return None
    visible = Request.objects.visible_to(user)
    found = list(visible.filter(pk__in=wanted))
    missing = sorted(wanted - {r.pk for r in found})
    if missing:
        # The same words for "does not exist" and "not yours": existence is not disclosed.
        errors["requests"] = f"no request numbered {', '.join(map(str, missing))}"
    unanswerable = _not_answerable(user, found, activity)
    if unanswerable and "requests" not in errors:
        errors["requests"] = (
            f"request {', '.join(map(str, unanswerable))} was not referred to your organization: "
            "only the secretariat marks it answered by your activity"
        )
    hidden: list[Request] = []
    if activity is not None:
        hidden = list(activity.requests.exclude(pk__in=visible.values("pk")))
    return found + hidden


def _not_answerable(user: Any, requests: list[Request], activity: Activity | None) -> list[int]:
    """Requests the user's activity may not answer: those neither referred to the user's
    organization, nor its own, nor already answered by this activity."""
    own = own_organizations(user)
    if own is None or not requests:
        return []
    principal = principal_for(user)
    kept = set(activity.requests.values_list("pk", flat=True)) if activity else set()
    referrals = Referral.objects.filter(request__in=requests, provider_id__in=own)
    referred = set(referrals.values_list("request_id", flat=True))
    return sorted(
        r.pk
        for r in requests
        if r.pk not in kept
        and r.pk not in referred
        and r.owner_id not in own
        and not (principal.state_id and r.state_id == principal.state_id)
    )


def write_activity(cleaned: CleanActivity, activity: Activity | None = None) -> Activity:
    """Write checked data (inside the caller's transaction)."""
    with counts.batch():
        return _write_activity(cleaned, activity or Activity())


def _write_activity(cleaned: CleanActivity, activity: Activity) -> Activity:
    for name, value in cleaned.fields.items():
        setattr(activity, name, value)
    activity.programme = cleaned.programme
    activity.save()
    activity.recipient_states.set(cleaned.states)
    activity.recipient_regions.set(cleaned.regions)
    activity.thematic_areas.set(cleaned.themes)
    activity.instruments.set(cleaned.instruments)
    if cleaned.requests is not None:
        activity.requests.set(cleaned.requests)
    set_providers(activity, [(org.pk, role) for org, role in cleaned.providers])
    return activity


def set_providers(activity: Activity, wanted: list[tuple[int, str]]) -> None:
    """Change an activity's providers one row at a time (not in bulk): each added or removed row
    goes into history, which the monthly matrix reads "as at" the end of a month."""
    have = {(p.organization_id, p.role): p for p in activity.provider_roles.all()}
    for key, row in have.items():
        if key not in wanted:
            row.delete()
    for organization_id, role in dict.fromkeys(wanted):
        if (organization_id, role) not in have:
            ActivityProvider.objects.create(activity=activity, organization_id=organization_id, role=role)


@transaction.atomic
def save_activity(user: Any, data: dict[str, Any], activity: Activity | None = None) -> Activity:
    """Create or update an activity with its providers, recipients, areas and instruments."""
    return write_activity(clean_activity(user, data, activity), activity)


def _budget(value: Any, errors: dict[str, str]) -> Decimal | None:
    if value in (None, ""):
        return None
    from coopmatrix.core.spreadsheets import amount_text

    # "12,5" is not 125: a comma is read only as a thousands separator ("1,234.56"); a file with
    # decimal commas is converted when it is read, with its decimal mark shown in the preview.
    text = value if isinstance(value, Decimal | int | float) else amount_text(str(value), "point")
    try:
        amount = Decimal(str(text if text is not None else value).strip())
    except InvalidOperation:
        hint = (
            " (a decimal comma? write 12.5, or choose the decimal mark when importing)"
            if "," in str(value)
            else ""
        )
        errors["budget"] = f"{value!r} is not a number{hint}"
        return None
    if amount < 0:
        errors["budget"] = "must not be negative"
    return amount


def _whole(value: Any, field: str, errors: dict[str, str]) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        errors[field] = f"{value!r} is not a whole number"
        return None
    if number < 0:
        errors[field] = "must not be negative"
    return number


def _m49s(values: list[Any], errors: dict[str, str]) -> list[int]:
    codes = []
    for value in values:
        try:
            codes.append(int(value))
        except (TypeError, ValueError):
            errors["recipient_regions"] = f"{value!r} is not an M49 code"
    return codes


def _pick(known: dict[Any, Any], codes: list[Any], field: str, errors: dict[str, str]) -> list[Any]:
    missing = [c for c in codes if c not in known]
    if missing:
        errors[field] = f"unknown: {', '.join(map(str, missing))}"
    return [known[c] for c in codes if c in known]


def _providers(
    lookups: Lookups, items: list[dict[str, str]], errors: dict[str, str]
) -> list[tuple[Organization, str]]:
    result = []
    for item in items:
        code, role = item.get("organization"), item.get("role")
        if code not in lookups.organizations:
            errors["providers"] = f"no organization with code {code!r}"
        elif role is None or not _is_choice(role, ActivityProvider.Role):
            errors["providers"] = f"role {role!r} must be one of {', '.join(ActivityProvider.Role.values)}"
        else:
            result.append((lookups.organizations[code], role))
    if not result and "providers" not in errors:
        errors["providers"] = "at least one provider is required"
    return result


def _states(
    lookups: Lookups, names: list[str], errors: dict[str, str], on: dt.date | None = None
) -> list[State]:
    """The recipient States, each of which must have existed when the activity began (`on`)."""
    states = []
    for name in names:
        try:
            states.append(lookups.resolver.resolve(name, on=on))
        except LookupError as exc:
            errors["recipient_states"] = str(exc)
    return states


@transaction.atomic
def delete_record(user: Any, record: Any) -> None:
    if not type(record).objects.editable_by(user).filter(pk=record.pk).exists():
        raise PermissionDenied("you may not delete this record")
    try:
        with counts.batch():
            record.delete()
    except ProtectedError as exc:
        held_by = sorted({str(type(o)._meta.verbose_name_plural) for o in exc.protected_objects})
        raise InUse(
            f"{record} is still used by {len(exc.protected_objects)} record(s) ({', '.join(held_by)}); "
            "change or delete those first"
        ) from exc


@transaction.atomic
def save_programme(user: Any, data: dict[str, Any], programme: Programme | None = None) -> Programme:
    """Create or change a programme or project; the edit rule is that of every owned record."""
    principal = principal_for(user)
    if programme is not None and not Programme.objects.editable_by(user).filter(pk=programme.pk).exists():
        raise PermissionDenied("you may not change this programme")
    if programme is None and not (principal.sees_everything or principal.may_edit_own):
        raise PermissionDenied("your role may not record programmes")
    errors: dict[str, str] = {}
    fields: dict[str, Any] = {
        "code": (data.get("code") or "").strip(),
        "title": (data.get("title") or "").strip(),
        "description": data.get("description") or "",
        "currency": _currency(data.get("currency") or "", errors),
        "funding_need": _budget(data.get("funding_need"), errors),
        "source": data.get("source") or "",
        "confidentiality": _check_confidentiality(
            data.get("confidentiality") or Confidentiality.PUBLIC, errors
        ),
    }
    if not re.fullmatch(r"[-a-z0-9_]{1,60}", fields["code"]):
        errors["code"] = "a code of lower-case letters, digits and hyphens is required"
    elif Programme.objects.filter(code=fields["code"]).exclude(pk=getattr(programme, "pk", None)).exists():
        # The same words whether the other programme is one the user may see or not.
        errors["code"] = f"{fields['code']!r} cannot be used: programme codes are unique; choose another"
    if not fields["title"]:
        errors["title"] = "a title is required"
    if fields["funding_need"] is not None and not fields["currency"]:
        errors["currency"] = "an amount needs its currency"
    fields.update(_dates(data, ("start", "end"), errors))
    _check_order(fields, "start", "end", errors)
    visible = {p.code: p for p in Programme.objects.visible_to(user)}
    parent = None
    if data.get("parent"):
        parent = visible.get(data["parent"])
        if parent is None:
            errors["parent"] = f"no programme with code {data['parent']!r}"
        elif programme is not None and _is_within(parent, programme):
            errors["parent"] = "a programme cannot be part of itself or of one of its projects"
    organizations = {o.code: o for o in Organization.objects.visible_to(user)}
    organization = organizations.get(data.get("organization") or "")
    if organization is None:
        errors["organization"] = f"no organization with code {data.get('organization')!r}"
    if programme is None:
        fields["owner"] = _owner(user, data.get("owner"), errors)
    _check_programme_attribution(user, programme, parent, organization, errors)
    check_fields(Programme, fields, errors)
    if errors:
        raise Invalid(errors)
    programme = programme or Programme()
    for name, value in fields.items():
        setattr(programme, name, value)
    programme.parent, programme.organization = parent, cast(Organization, organization)
    programme.save()
    return programme


def _check_programme_attribution(
    user: Any,
    programme: Programme | None,
    parent: Programme | None,
    organization: Organization | None,
    errors: dict[str, str],
) -> None:
    own = own_organizations(user)
    if own is None:
        return
    kept_organization = programme.organization_id if programme else None
    kept_parent = programme.parent_id if programme else None
    if organization is not None and organization.pk not in own and organization.pk != kept_organization:
        errors["organization"] = f"{organization.code}: {ATTRIBUTION}"
    if parent is not None and not _programme_is_own(parent, own) and parent.pk != kept_parent:
        errors["parent"] = f"{parent.code} is another organization's programme: {ATTRIBUTION}"


def _is_within(candidate: Programme, programme: Programme) -> bool:
    node: Programme | None = candidate
    while node is not None:
        if node.pk == programme.pk:
            return True
        node = node.parent
    return False


@transaction.atomic
def save_thematic_area(user: Any, data: dict[str, Any], area: ThematicArea | None = None) -> ThematicArea:
    """The vocabulary is kept by the secretariat: only it adds or changes a thematic area."""
    if not principal_for(user).sees_everything:
        raise PermissionDenied("the secretariat keeps the thematic areas")
    errors: dict[str, str] = {}
    fields: dict[str, Any] = {
        "code": (data.get("code") or "").strip(),
        "name": (data.get("name") or "").strip(),
        "description": data.get("description") or "",
        "dac_code": (data.get("dac_code") or "").strip(),
        "dac_note": data.get("dac_note") or "",
        "source": data.get("source") or "",
    }
    if data.get("order") is not None:
        fields["order"] = _whole(data.get("order"), "order", errors)
    if not re.fullmatch(r"[-a-z0-9_]{1,40}", fields["code"]):
        errors["code"] = "a code of lower-case letters, digits and hyphens is required"
    elif ThematicArea.objects.filter(code=fields["code"]).exclude(pk=getattr(area, "pk", None)).exists():
        errors["code"] = f"{fields['code']!r} is already used by another thematic area"
    if not fields["name"]:
        errors["name"] = "a name is required"
    # OECD DAC CRS purpose codes are five digits (e.g. 15210 security system management).
    if not re.fullmatch(r"\d{5}", fields["dac_code"]):
        errors["dac_code"] = "an OECD DAC purpose code of five digits is required"
    check_fields(ThematicArea, fields, errors)
    if errors:
        raise Invalid(errors)
    area = area or ThematicArea()
    for name, value in fields.items():
        setattr(area, name, value)
    area.save()
    return area


@transaction.atomic
def delete_thematic_area(user: Any, area: ThematicArea) -> None:
    if not principal_for(user).sees_everything:
        raise PermissionDenied("the secretariat keeps the thematic areas")
    used = area.activities.count() + area.requests.count()
    if used:
        # A many-to-many link would vanish silently; the vocabulary keeps terms still in use.
        raise InUse(f"{area} is still used by {used} activities or requests; change those first")
    area.delete()


@transaction.atomic
def save_request(user: Any, data: dict[str, Any], request: Request | None = None) -> Request:
    """Record or change a request for assistance. A focal point records its own State's requests."""
    principal = principal_for(user)
    if request is not None and not Request.objects.editable_by(user).filter(pk=request.pk).exists():
        raise PermissionDenied("you may not change this request")
    if request is None and not (principal.sees_everything or principal.may_edit_own):
        raise PermissionDenied("your role may not record requests")
    errors: dict[str, str] = {}
    state: list[State] = []
    received = _dates(data, ("received",), {}).get("received")
    try:
        state = [StateResolver().resolve(data.get("state") or "", on=received)]
    except LookupError as exc:
        errors["state"] = str(exc)
    if state and principal.state_id and not principal.sees_everything and state[0].pk != principal.state_id:
        errors["state"] = "a national focal point records requests of its own State"
    fields: dict[str, Any] = {
        "title": (data.get("title") or "").strip(),
        "description": data.get("description") or "",
        "channel": data.get("channel") or Request.Channel.DIRECT,
        "priority": data.get("priority") or Request.Priority.NORMAL,
        "source": data.get("source") or "",
        "confidentiality": _check_confidentiality(
            data.get("confidentiality") or Confidentiality.RESTRICTED, errors
        ),
    }
    fields.update(_dates(data, ("received",), errors))
    if not fields.get("received"):
        errors.setdefault("received", "the date received is required")
    if not fields["title"]:
        errors["title"] = "a title is required"
    if not _is_choice(fields["channel"], Request.Channel):
        errors["channel"] = f"must be one of {', '.join(Request.Channel.values)}"
    if not _is_choice(fields["priority"], Request.Priority):
        errors["priority"] = f"must be one of {', '.join(Request.Priority.values)}"
    themes = _by_code(user, ThematicArea, data.get("thematic_areas") or [], "thematic_areas", errors)
    instruments = _by_code(user, Instrument, data.get("instruments") or [], "instruments", errors)
    if request is None:
        fields["owner"] = _owner(user, data.get("owner"), errors)
    check_fields(Request, fields, errors)
    check_level_change(user, request, fields["confidentiality"], errors)
    if errors:
        raise Invalid(errors)
    request = request or Request(status=Request.Status.RECEIVED, status_changed=fields["received"])
    for name, value in fields.items():
        setattr(request, name, value)
    request.state = state[0]
    request.save()
    request.thematic_areas.set(themes)
    request.instruments.set(instruments)
    return request


# Which status may follow which; a closed request (completed, declined, withdrawn) stays closed.
NEXT_STATUS = {
    Request.Status.RECEIVED: {Request.Status.REFERRED, Request.Status.DECLINED, Request.Status.WITHDRAWN},
    Request.Status.REFERRED: {Request.Status.ACCEPTED, Request.Status.DECLINED, Request.Status.WITHDRAWN},
    Request.Status.ACCEPTED: {Request.Status.IN_PROGRESS, Request.Status.WITHDRAWN},
    Request.Status.IN_PROGRESS: {Request.Status.COMPLETED, Request.Status.WITHDRAWN},
}


@transaction.atomic
def set_request_status(
    user: Any, request: Request, status: str, on: dt.date | None = None, note: str = ""
) -> Request:
    """Move a request to its next status, dated; the history keeps every step."""
    if not Request.objects.editable_by(user).filter(pk=request.pk).exists():
        raise PermissionDenied("you may not change this request")
    allowed: set[Request.Status] = NEXT_STATUS.get(Request.Status(request.status), set())
    if status not in allowed:
        names = ", ".join(sorted(allowed)) or "none: it is closed"
        raise Invalid({"status": f"a {request.status} request may become: {names}"})
    request.status = status
    request.status_changed = on or timezone.localdate()
    request._change_reason = note or f"status {status}"  # type: ignore[attr-defined]
    request.save()
    return request


@transaction.atomic
def refer_request(
    user: Any, request: Request, providers: list[str], on: dt.date | None = None, note: str = ""
) -> list[Referral]:
    """Refer a request to one or more providers; the request becomes "referred"."""
    if not principal_for(user).sees_everything:
        raise PermissionDenied("the secretariat refers requests")
    errors: dict[str, str] = {}
    organizations = _by_code(user, Organization, providers, "providers", errors)
    if not organizations and "providers" not in errors:
        errors["providers"] = "name at least one provider"
    already = set(request.referrals.values_list("provider__code", flat=True))
    repeated = [o.code for o in organizations if o.code in already]
    if repeated:
        errors["providers"] = f"already referred to: {', '.join(repeated)}"
    if request.status not in (Request.Status.RECEIVED, Request.Status.REFERRED):
        errors["status"] = f"a {request.status} request cannot be referred"
    if errors:
        raise Invalid(errors)
    day = on or timezone.localdate()
    referrals = [
        Referral.objects.create(request=request, provider=o, referred_on=day, note=note, referred_by=user)
        for o in organizations
    ]
    if request.status == Request.Status.RECEIVED:
        request.status, request.status_changed = Request.Status.REFERRED, day
        # The history of a request is read by all who see the request; the providers it names are
        # kept on the referrals, each shown only to those who may see that provider.
        request._change_reason = f"referred to {len(organizations)} provider(s)"  # type: ignore[attr-defined]
        request.save()
    return referrals


@transaction.atomic
def withdraw_referral(user: Any, referral: Referral) -> None:
    """The secretariat takes back a referral made in error, before the provider has answered."""
    if not principal_for(user).sees_everything:
        raise PermissionDenied("the secretariat refers requests")
    if referral.response != Referral.Response.PENDING:
        raise Invalid({"referral": f"the provider has already {referral.response} it; it stays on record"})
    referral.delete()


@transaction.atomic
def answer_referral(user: Any, referral: Referral, response: str, on: dt.date | None = None) -> Referral:
    """The provider (or the secretariat) accepts or declines a referral."""
    principal = principal_for(user)
    if not (principal.sees_everything or principal.organization_id == referral.provider_id):
        raise PermissionDenied("only the provider it was referred to answers a referral")
    if response not in (Referral.Response.ACCEPTED, Referral.Response.DECLINED):
        raise Invalid({"response": "must be accepted or declined"})
    referral.response, referral.responded_on = response, on or timezone.localdate()
    referral.save()
    request = referral.request
    if response == Referral.Response.ACCEPTED and request.status == Request.Status.REFERRED:
        request.status, request.status_changed = Request.Status.ACCEPTED, referral.responded_on
        request._change_reason = "accepted by a provider it was referred to"  # type: ignore[attr-defined]
        request.save()
    return referral


#: The most activities changed in one bulk action (a page holds at most 500 rows).
BULK_LIMIT = 500


def set_activities_status(user: Any, keys: list[int], status: str) -> int:
    """Set the status of the activities `keys`, all or none: one the user may not change (or
    may not see) refuses the whole action, as a missing one would. Returns how many changed."""
    if not _is_choice(status, Activity.Status):
        raise Invalid({"status": f"{status!r} is not a status ({', '.join(Activity.Status.values)})"})
    wanted = set(keys)
    if not wanted:
        raise Invalid({"ids": "tick at least one activity"})
    if len(wanted) > BULK_LIMIT:
        raise Invalid({"ids": f"at most {BULK_LIMIT} activities at once ({len(wanted)} ticked)"})
    with transaction.atomic(), counts.batch():
        records = list(Activity.objects.editable_by(user).filter(pk__in=wanted).select_for_update())
        if len(records) != len(wanted):
            refused = len(wanted) - len(records)
            total = len(wanted)
            reason = f"{refused} of the {total} activities ticked do not exist or are not yours to change"
            raise Invalid({"ids": reason})
        changed = 0
        for activity in records:
            if activity.status != status:
                activity.status = status
                activity.save()
                changed += 1
    return changed


def share_activities(user: Any, keys: list[int], organization_code: str) -> tuple[int, int]:
    """Share the ticked confidential activities with an organization, all or none (one the user
    may not change refuses the whole). Returns (newly shared, not confidential: nothing to share,
    as everyone who may sign in reads them already)."""
    from django.contrib.contenttypes.models import ContentType

    from coopmatrix.core.models import Share

    wanted = set(keys)
    if not wanted:
        raise Invalid({"ids": "tick at least one activity"})
    if len(wanted) > BULK_LIMIT:
        raise Invalid({"ids": f"at most {BULK_LIMIT} activities at once ({len(wanted)} ticked)"})
    organization = Organization.objects.visible_to(user).filter(code=organization_code).first()
    if organization is None:
        raise Invalid({"share_with": f"no organization with code {organization_code!r}"})
    kind = ContentType.objects.get_for_model(Activity)
    with transaction.atomic():
        records = list(Activity.objects.editable_by(user).filter(pk__in=wanted))
        if len(records) != len(wanted):
            refused, total = len(wanted) - len(records), len(wanted)
            raise Invalid(
                {"ids": f"{refused} of the {total} activities ticked do not exist or are not yours to change"}
            )
        shared = skipped = 0
        for activity in records:
            if activity.confidentiality != Confidentiality.CONFIDENTIAL:
                skipped += 1
                continue
            _, created = Share.objects.get_or_create(
                content_type=kind, object_id=activity.pk, organization=organization
            )
            shared += created
    return shared, skipped

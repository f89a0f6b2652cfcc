"""Checks and writes of directory entries: one path for the pages, the API and the importer.

Who may record a contact: the secretariat any; an organization editor those of its own
organization and its units; a national focal point those of its own State. An entry that looks
like one already kept (the same e-mail, or the same name in the same organization) is proposed
as a merge rather than written twice.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
import pycountry
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from coopmatrix.core import bulk
from coopmatrix.core.dates import parse_day
from coopmatrix.core.errors import Invalid, check_fields, check_level_change
from coopmatrix.core.models import Confidentiality
from coopmatrix.core.roles import principal_for
from coopmatrix.geo.resolver import StateResolver, normalize

from .models import Contact, ContactRole, Organization, with_units

#: Fields of an entry a caller gives (besides roles, organization and State).
TEXT_FIELDS = (
    "person_name",
    "function",
    "email",
    "telephone",
    "fax",
    "postal_address",
    "secure_channel_notes",
)
DATE_FIELDS = ("valid_from", "valid_to", "verified_on")
_TITLES = {"mr", "mrs", "ms", "miss", "dr", "prof", "h", "e", "he", "s", "amb", "ambassador"}


def normalize_name(name: str) -> str:
    """A person's name folded for comparison: case, accents, punctuation, titles and word order."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    words = [w for w in re.split(r"[^\w]+", text) if w and w not in _TITLES]
    return " ".join(sorted(words))


class Lookups:
    """States, organizations and roles resolved once for a whole import."""

    def __init__(self, user: Any, states: StateResolver | None = None) -> None:
        self.states = states or StateResolver()
        self.roles = {r.code: r for r in ContactRole.objects.all()}
        self.organizations: dict[str, Organization] = {}
        # An organization the user may not see reads as an unknown name, like a missing one.
        for org in Organization.objects.visible_to(user):
            self.organizations[org.code.lower()] = org
            self.organizations.setdefault(normalize(org.name), org)
        from .models import OrganizationName

        visible = {o.pk for o in self.organizations.values()}
        for former in OrganizationName.objects.filter(organization_id__in=visible).select_related(
            "organization"
        ):
            self.organizations.setdefault(normalize(former.name), former.organization)

    def organization(self, text: str) -> Organization:
        found = self.organizations.get(text.strip().lower()) or self.organizations.get(normalize(text))
        if found is None:
            raise LookupError(f"no organization with code or name {text!r} (see /organizations/)")
        return found


#: What separates languages in a list: punctuation, and "and" in the languages entries are
#: written in ("English and French", "anglais et français", "inglés y francés").
_LANGUAGE_SEPARATORS = re.compile(r"\s*(?:[,;/&+]|\band\b|\bet\b|\by\b|\bund\b)\s*", re.IGNORECASE)


def _language_items(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    items: list[str] = []
    for piece in _LANGUAGE_SEPARATORS.split(str(value or "")):
        words = piece.split()
        # "en fr" is two codes; "Modern Greek" is one name.
        if len(words) > 1 and all(re.fullmatch(r"[A-Za-z]{2,3}", w) for w in words):
            items.extend(words)
        elif piece.strip():
            items.append(piece.strip())
    return items


def language_codes(value: Any) -> str:
    """'en, French; ara' or 'English and French' → 'en fr' …; ValueError naming the unknown one."""
    items = _language_items(value)
    codes = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        language = (
            pycountry.languages.get(alpha_2=item.lower())
            or pycountry.languages.get(alpha_3=item.lower())
            or _language_by_name(item)
        )
        if language is None:
            raise ValueError(f"{item!r} is not an ISO 639 language code or name")
        code = getattr(language, "alpha_2", None) or language.alpha_3
        if code not in codes:
            codes.append(code)
    return " ".join(codes)


def _language_by_name(name: str) -> Any:
    try:
        return pycountry.languages.lookup(name)
    except LookupError:
        return None


def telephone(value: str, state: Any) -> str:
    """A number in international form (+43 1 26060); ValueError when it cannot be one."""
    region = state.iso2 if state is not None and state.iso2 else None
    # phonenumbers reads letters as a keypad would ("ABC" → 222): an entry with letters is a typo
    # or a note, never a number to dial. Only an extension may be marked with words.
    if re.search(r"[A-Za-z]", re.sub(r"(?i)\b(ext|extension|x)\.?\s*\d+\s*$", "", value)):
        raise ValueError(f"{value!r} has letters in it; give the number in digits, e.g. +43 1 26060")
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(
            f"not a telephone number ({exc}); give it with its country code, e.g. +43 1 26060"
        ) from exc
    if not phonenumbers.is_possible_number(number):
        raise ValueError("not a possible telephone number; give it with its country code, e.g. +43 1 26060")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


CHANNELS = ("email", "telephone", "fax", "languages")


def check_channels(values: dict[str, Any], state: Any, errors: dict[str, str]) -> dict[str, str]:
    """The e-mail, numbers and languages among `values`, checked and written one way (lower-case
    e-mail, international numbers, ISO 639 codes); each wrong one noted in `errors`. One check
    for entries typed, imported, or corrected through a verification link."""
    checked: dict[str, str] = {}
    for name in CHANNELS:
        if name not in values:
            continue
        value = values[name]
        text = str(value or "").strip() if not isinstance(value, list | tuple) else ""
        try:
            if name == "languages":
                checked[name] = language_codes(value)
            elif not text:
                checked[name] = ""
            elif name == "email":
                validate_email(text)
                checked[name] = text.lower()
            else:
                checked[name] = telephone(text, state)
        except ValidationError:
            errors[name] = f"{text!r} is not an e-mail address"
        except ValueError as exc:
            errors[name] = str(exc)
    return checked


@dataclass
class CleanContact:
    fields: dict[str, Any]
    roles: list[ContactRole] = field(default_factory=list)

    def same_as(self, record: Contact) -> bool:
        if any(getattr(record, name) != value for name, value in self.fields.items()):
            return False
        return {r.pk for r in self.roles} == set(record.roles.values_list("pk", flat=True))

    def changes(self, record: Contact, merge: bool = False) -> list[str]:
        """What writing it over `record` would change: field names, and "roles"."""
        changed = list(self.differences(record, only_given=merge))
        kept = set(record.roles.values_list("pk", flat=True))
        given = {r.pk for r in self.roles}
        if (given - kept) if merge else (given != kept):
            changed.append("roles")
        return changed

    def differences(self, record: Contact, only_given: bool = False) -> dict[str, Any]:
        """Fields whose value would change. `only_given` (a merge) keeps what the row leaves
        empty and joins what both have: the languages of both, both addresses and notes."""
        found = {}
        for name, value in self.fields.items():
            if only_given and value in ("", None):
                continue
            if only_given:
                value = joined(name, getattr(record, name), value)
            if getattr(record, name) != value:
                found[name] = value
        return found


#: Fields two entries of one person may both have and a merge keeps both of.
JOINED_TEXT = ("postal_address", "secure_channel_notes")


def joined(name: str, kept: Any, given: Any) -> Any:
    """The value a merge writes: languages of both, both texts (once), else the given one."""
    if name == "languages" and kept:
        return " ".join(dict.fromkeys(f"{kept} {given}".split()))
    if name in JOINED_TEXT and kept and given:
        return kept if given.strip() in kept else f"{kept}\n{given}"
    return given


def _split_roles(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in re.split(r"[;,]", str(value or "")) if v.strip()]


def clean(user: Any, data: dict[str, Any], lookups: Lookups | None = None) -> CleanContact:
    """Check one entry; raises Invalid naming each wrong field, or PermissionDenied."""
    lookups = lookups or Lookups(user)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {name: str(data.get(name) or "").strip() for name in TEXT_FIELDS}
    organization = state = None
    if data.get("organization"):
        try:
            organization = lookups.organization(str(data["organization"]))
        except LookupError as exc:
            errors["organization"] = str(exc)
    if data.get("state"):
        try:
            state = lookups.states.resolve(str(data["state"]))
        except LookupError as exc:
            errors["state"] = str(exc)
    if state is None and organization is not None and organization.state_id and "state" not in errors:
        state = organization.state  # a State agency's contact belongs to that State
    if organization is None and state is None and not errors.keys() & {"organization", "state"}:
        errors["organization"] = "an entry belongs to an organization or a State agency, or to a State"
    if not values["person_name"] and not values["function"]:
        errors["function"] = (
            "give the person's name or the function (e.g. 'Head, Terrorism Prevention Branch')"
        )
    values.update(check_channels({**values, "languages": data.get("languages")}, state, errors))
    roles = []
    for code in _split_roles(data.get("roles")):
        if code not in lookups.roles:
            errors["roles"] = f"unknown role {code!r}; one of {', '.join(sorted(lookups.roles))}"
        else:
            roles.append(lookups.roles[code])
    for name in DATE_FIELDS:
        values[name] = parse_day(data.get(name), name, errors)
    if values["valid_from"] and values["valid_to"] and values["valid_to"] < values["valid_from"]:
        errors["valid_to"] = f"ends ({values['valid_to']}) before it starts ({values['valid_from']})"
    if values["verified_on"] and values["verified_on"] > timezone.localdate():
        errors["verified_on"] = f"{values['verified_on']} is in the future"
    confidentiality = str(data.get("confidentiality") or Confidentiality.RESTRICTED)
    if confidentiality not in Confidentiality.values:
        errors["confidentiality"] = f"must be one of {', '.join(Confidentiality.values)}"
    check_fields(Contact, values, errors)
    if errors:
        raise Invalid(errors)
    check_may_record(user, organization, state)
    values.update(
        organization=organization,
        state=state,
        confidentiality=confidentiality,
        source=str(data.get("source") or "").strip(),
    )
    return CleanContact(fields=values, roles=roles)


def check_may_record(user: Any, organization: Organization | None, state: Any) -> None:
    principal = principal_for(user)
    if principal.sees_everything:
        return
    if principal.may_edit_own:
        if principal.state_id and state is not None and state.pk == principal.state_id:
            return
        if (
            principal.organization_id
            and organization is not None
            and organization.pk in with_units([principal.organization_id])
        ):
            return
    raise PermissionDenied(
        "only the secretariat, an organization's editors (for its own contacts) or a national "
        "focal point (for its own State's) may record contacts"
    )


def same_entry(record: Contact, cleaned: CleanContact) -> bool:
    """Whether an entry is the one a row describes, by its person's name or else its function."""
    fields = cleaned.fields
    if fields["person_name"] or record.person_name:
        return record.normalized_name == normalize_name(fields["person_name"])
    return record.function.casefold().strip() == (fields["function"] or "").casefold().strip()


def duplicates(user: Any, cleaned: CleanContact, exclude: int | None = None) -> list[Contact]:
    """Entries the user can see that look like this one: the same e-mail, or the same name in
    the same organization. Entries the user cannot see are not disclosed."""
    fields = cleaned.fields
    match = Q(pk__in=[])
    if fields["email"]:
        match |= Q(email__iexact=fields["email"])
    name = normalize_name(fields["person_name"])
    if name and fields["organization"] is not None:
        match |= Q(normalized_name=name, organization=fields["organization"])
    found = Contact.objects.visible_to(user).filter(match, erased_on__isnull=True)
    if exclude:
        found = found.exclude(pk=exclude)
    return list(found.select_related("organization", "state").order_by("pk"))


def write(
    user: Any, cleaned: CleanContact, record: Contact | None = None, merge: bool = False, reason: str = ""
) -> Contact:
    """Create or update (inside the caller's transaction). `merge` keeps what `cleaned` leaves
    empty and adds its roles to the entry's, as a merge of two entries should."""
    record = record or Contact()
    level_errors: dict[str, str] = {}
    check_level_change(user, record, cleaned.fields.get("confidentiality"), level_errors)
    if level_errors:
        raise Invalid(level_errors)
    changes = cleaned.differences(record, only_given=merge) if record.pk else cleaned.fields
    for name, value in changes.items():
        setattr(record, name, value)
    if record.pk is None:
        record.owner_id = principal_for(user).organization_id
    if reason:
        record._change_reason = reason  # type: ignore[attr-defined]
    record.save()
    roles = {r.pk for r in cleaned.roles}
    if merge:
        roles |= set(record.roles.values_list("pk", flat=True))
    if roles != set(record.roles.values_list("pk", flat=True)):
        record.roles.set(roles)
    return record


def write_new(user: Any, entries: Sequence[CleanContact], reason: str = "") -> list[Contact]:
    """New entries written together (inside the caller's transaction), each reading, in the
    directory and in its history, as one `write` creates alone: its owner, its creation row
    naming the user and the reason; with roles, their links and the change row their addition
    makes (simple-history keeps a change of roles as a change of the entry, with the roles it
    then has). A file of thousands of new entries costs a few statements, not a dozen per row."""
    owner = principal_for(user).organization_id
    records = [Contact(**cleaned.fields, owner_id=owner) for cleaned in entries]
    for record in records:
        record.normalized_name = normalize_name(record.person_name)  # as Contact.save
    when = timezone.now()
    bulk.with_history(Contact, records, user, reason or None, when)
    roled = [
        (record, sorted({role.pk for role in cleaned.roles}))
        for record, cleaned in zip(records, entries, strict=True)
        if cleaned.roles
    ]
    if not roled:
        return records
    links = [(record.pk, role) for record, roles in roled for role in roles]
    link_ids = bulk.insert_values(Contact.roles.through, ["contact_id", "contactrole_id"], links)
    changes = bulk.history_rows(Contact, [record for record, _ in roled], user, reason or None, when, "~")
    change_of = {record.pk: change for (record, _), change in zip(roled, changes, strict=True)}
    bulk.insert_values(
        _roles_history(),
        ["id", "contact_id", "contactrole_id", "history_id"],
        [
            (link, contact, role, change_of[contact])
            for link, (contact, role) in zip(link_ids, links, strict=True)
        ],
    )
    return records


def _roles_history() -> type[models.Model]:
    """simple-history's table of the roles each history row of an entry had."""
    return apps.get_model("directory", f"Historical{Contact.__name__}_roles")


def _editable(user: Any, record: Contact) -> bool:
    return Contact.objects.editable_by(user).filter(pk=record.pk).exists()


@transaction.atomic
def save(
    user: Any,
    data: dict[str, Any],
    record: Contact | None = None,
    merge_into: Contact | None = None,
    allow_duplicate: bool = False,
) -> Contact:
    """Record or change an entry. An entry that would match others raises Duplicate unless the
    caller merges a new one into one of them (`merge_into`) or says it is another person."""
    if record is not None and not _editable(user, record):
        raise PermissionDenied("you may not change this contact")
    cleaned = clean(user, data)
    if merge_into is not None:
        if not _editable(user, merge_into):
            raise PermissionDenied("you may not change the entry to merge into")
        return write(user, cleaned, merge_into, merge=True, reason="merged with a matching new entry")
    if not allow_duplicate and (record is None or _identity_changed(record, cleaned)):
        found = duplicates(user, cleaned, exclude=record.pk if record else None)
        if found:
            raise Duplicate(found)
    return write(user, cleaned, record)


def _identity_changed(record: Contact, cleaned: CleanContact) -> bool:
    """Whether a change touches what duplicates are found by: an entry kept on purpose beside a
    look-alike is not questioned again at every change."""
    fields = cleaned.fields
    return (
        record.email.lower() != fields["email"].lower()
        or record.normalized_name != normalize_name(fields["person_name"])
        or record.organization_id != (fields["organization"].pk if fields["organization"] else None)
    )


class Duplicate(Exception):
    """A new entry matches entries already kept; the caller proposes a merge."""

    def __init__(self, matches: list[Contact]) -> None:
        self.matches = matches
        super().__init__("this entry matches " + ", ".join(f"#{c.pk} {c}" for c in matches))


@transaction.atomic
def delete(user: Any, record: Contact) -> None:
    if not _editable(user, record):
        raise PermissionDenied("you may not delete this contact")
    record.delete()


@transaction.atomic
def erase(user: Any, record: Contact, note: str = "") -> Contact:
    """Remove a person's details from the entry and from every past version of it, on request.

    The entry stays (its function, organization, roles), with the date of the erasure, and its
    history says that an erasure took place, by whom, but not what was erased.
    """
    if not principal_for(user).sees_everything:
        raise PermissionDenied("only the secretariat may erase personal details")
    blank = {name: "" for name in Contact.PERSONAL_FIELDS}
    Contact.history.filter(id=record.pk).update(**blank)  # type: ignore[attr-defined]
    from .models import Correction, Verification

    for correction in Correction.objects.filter(contact=record):
        correction.proposed = {
            k: v for k, v in correction.proposed.items() if k not in Contact.PERSONAL_FIELDS
        }
        correction.note = ""
        correction.save(update_fields=["proposed", "note"])
    Correction.history.filter(contact_id=record.pk).update(note="", proposed={})  # type: ignore[attr-defined]
    Verification.objects.filter(contact=record).update(sent_to="erased@invalid")
    Verification.history.filter(contact_id=record.pk).update(sent_to="erased@invalid")  # type: ignore[attr-defined]
    for name, value in blank.items():
        setattr(record, name, value)
    record.erased_on = timezone.localdate()
    if not record.function:
        record.function = "(personal details erased)"
    record._change_reason = "personal details erased on request" + (f": {note}" if note else "")  # type: ignore[attr-defined]
    record.save()
    return record

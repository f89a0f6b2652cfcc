"""The list of contacts as CSV, XLSX, vCard and a PDF directory.

CSV and XLSX write the import template's columns, so an export imported again changes nothing.
Every format carries the stale flag; the PDF and XLSX carry the date "as at", who exported and
the highest confidentiality inside. Each export of contacts is logged (who, when, what).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import vobject
from django.template.loader import render_to_string
from django.utils import timezone

from coopmatrix.core.exports import Column
from coopmatrix.core.models import CONFIDENTIALITY_ORDER

from .models import Contact, ContactExport

CONTACT_COLUMNS: list[Column] = [
    ("id", lambda c: c.pk),
    ("person_name", lambda c: c.person_name),
    ("function", lambda c: c.function),
    ("organization", lambda c: c.organization.code if c.organization_id else ""),
    ("state", lambda c: c.state.code if c.state_id else ""),
    ("roles", lambda c: "; ".join(r.code for r in c.roles.all())),
    ("email", lambda c: c.email),
    ("telephone", lambda c: c.telephone),
    ("fax", lambda c: c.fax),
    ("postal_address", lambda c: c.postal_address),
    ("secure_channel_notes", lambda c: c.secure_channel_notes),
    ("languages", lambda c: c.languages),
    ("valid_from", lambda c: c.valid_from.isoformat() if c.valid_from else ""),
    ("valid_to", lambda c: c.valid_to.isoformat() if c.valid_to else ""),
    ("verified_on", lambda c: c.verified_on.isoformat() if c.verified_on else ""),
    ("confidentiality", lambda c: c.confidentiality),
    ("source", lambda c: c.source),
]
#: Read-only columns an export adds after the template's; the importer ignores them.
EXTRA_COLUMNS: list[Column] = [
    ("verified_by", lambda c: c.verified_by),
    ("stale", lambda c: "yes" if c.is_stale else "no"),
]


def log(user: Any, fmt: str, query: str, contacts: Iterable[Contact]) -> list[Contact]:
    """Record the export and give the contacts back as a list (they are read once)."""
    records = list(contacts)
    ContactExport.objects.create(
        user=user if getattr(user, "is_authenticated", False) else None,
        format=fmt,
        filters=query,
        count=len(records),
        contact_ids=[c.pk for c in records],
    )
    return records


def highest(records: Iterable[Contact]) -> str:
    levels = [CONFIDENTIALITY_ORDER.index(r.confidentiality) for r in records]
    return str(CONFIDENTIALITY_ORDER[max(levels)].label) if levels else "—"


def vcard(contact: Contact) -> str:
    """One vCard 3.0; the organization and function are the card's ORG and TITLE."""
    card = vobject.vCard()
    name = contact.person_name or contact.function
    card.add("fn").value = name
    parts = contact.person_name.rsplit(" ", 1) if contact.person_name else ["", ""]
    family, given = (parts[-1], parts[0]) if len(parts) == 2 else (parts[0], "")
    card.add("n").value = vobject.vcard.Name(family=family, given=given)
    if contact.organization_id:
        card.add("org").value = [contact.organization.name]
    if contact.function:
        card.add("title").value = contact.function
    if contact.email:
        card.add("email").value = contact.email
        card.email.type_param = "INTERNET"
    for value, kind in ((contact.telephone, "WORK"), (contact.fax, "FAX")):
        if value:
            tel = card.add("tel")
            tel.value = value
            tel.type_param = kind
    if contact.postal_address:
        card.add("adr").value = vobject.vcard.Address(street=contact.postal_address)
    if contact.languages:
        for code in contact.language_list:
            card.add("x-coopmatrix-language").value = code
    notes = [f"Roles: {', '.join(r.name for r in contact.roles.all())}"] if contact.roles.all() else []
    if contact.secure_channel_notes:
        notes.append(f"Secure channels: {contact.secure_channel_notes}")
    notes.append(f"Verified on {contact.verified_on:%Y-%m-%d}" if contact.verified_on else "Never verified")
    if contact.is_stale:
        notes.append("STALE: not verified within the limit")
    notes.append(f"Confidentiality: {contact.get_confidentiality_display()}")
    card.add("note").value = "\n".join(notes)
    card.add("uid").value = f"urn:coopmatrix:contact:{contact.pk}"
    return card.serialize()


def vcards(contacts: Iterable[Contact]) -> str:
    return "".join(vcard(c) for c in contacts)


def pdf(contacts: list[Contact], who: str, cover: list[tuple[str, str]], visible_orgs: set[int]) -> bytes:
    """The printed directory: by organization, then by State, each entry with its stale flag."""
    from weasyprint import HTML

    by_organization: dict[Any, list[Contact]] = defaultdict(list)
    by_state: dict[Any, list[Contact]] = defaultdict(list)
    for contact in contacts:
        org = contact.organization if contact.organization_id in visible_orgs else None
        by_organization[org.name if org else "—"].append(contact)
        if contact.state_id:
            by_state[contact.state.name_en].append(contact)
    html = render_to_string(
        "directory/contacts_pdf.html",
        {
            "title": "List of contacts",
            "cover": [
                ("As at", timezone.localtime().strftime("%Y-%m-%d %H:%M %Z")),
                ("Exported by", who),
                ("Entries", str(len(contacts))),
                ("Highest confidentiality inside", highest(contacts)),
                ("Stale entries", str(sum(1 for c in contacts if c.is_stale))),
                *cover,
            ],
            "highest": highest(contacts),
            "by_organization": sorted(by_organization.items()),
            "by_state": sorted(by_state.items()),
        },
    )
    return HTML(string=html).write_pdf()

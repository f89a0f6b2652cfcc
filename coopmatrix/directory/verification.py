"""Keeping the directory true: signed, expiring, single-use links to confirm or correct entries.

The secretariat sends a link for one entry or for a whole organization's. The link carries the
verification's id and a secret, signed with the site's key and a timestamp; only a hash of the
secret is stored. The person who opens it confirms the entries or proposes corrections without
signing in; corrections wait for the secretariat's approval. A link that is tampered with,
expired or already used changes nothing and says so.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from coopmatrix.core.errors import Invalid
from coopmatrix.core.roles import principal_for

from . import contacts
from .models import Contact, Correction, Organization, Verification, with_units

SALT = "coopmatrix.directory.verification"


class LinkRefused(Exception):
    """The link cannot be used; `reason` is what the page tells its holder, `gone` whether it
    was a good link that has expired or been used (HTTP 410) rather than a bad one (400)."""

    def __init__(self, reason: str, gone: bool = False) -> None:
        self.reason = reason
        self.gone = gone
        super().__init__(reason)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def scope(verification: Verification) -> list[Contact]:
    """The entries a link is for: one contact, or every entry of an organization and its units."""
    if verification.contact_id:
        return [verification.contact] if verification.contact and not verification.contact.erased_on else []
    return list(
        Contact.objects.filter(
            organization_id__in=with_units([verification.organization_id]), erased_on__isnull=True
        )
        .select_related("organization", "state")
        .order_by("organization__name", "function", "person_name")
    )


@transaction.atomic
def send(
    user: Any,
    base_url: str,
    sent_to: str,
    contact: Contact | None = None,
    organization: Organization | None = None,
) -> Verification:
    """Create the link and e-mail it; `base_url` is the site's address (https://host)."""
    if not principal_for(user).sees_everything:
        raise PermissionDenied("only the secretariat sends verification links")
    if (contact is None) == (organization is None):
        raise ValueError("a link is for one contact or for one organization")
    secret = secrets.token_urlsafe(32)
    verification = Verification.objects.create(
        contact=contact,
        organization=organization,
        sent_to=sent_to,
        sent_by=user,
        expires=timezone.now() + dt.timedelta(days=settings.VERIFICATION_LINK_DAYS),
        digest=_digest(secret),
    )
    token = signing.dumps({"v": verification.pk, "s": secret}, salt=SALT, compress=True)
    link = base_url.rstrip("/") + reverse("directory:verify", args=[token])
    what = str(contact) if contact else f"the entries of {organization}"
    entries = scope(verification)
    send_mail(
        subject="Please confirm your entry in the list of contacts",
        message=(
            f"The secretariat keeps the list of contacts of the organizations cooperating against "
            f"terrorism. Please confirm or correct {what} ({len(entries)} entries):\n\n{link}\n\n"
            f"The link works once, until {verification.expires:%Y-%m-%d %H:%M %Z}. You do not need "
            f"an account. Corrections are checked by the secretariat before they are kept.\n"
        ),
        from_email=None,
        recipient_list=[sent_to],
    )
    return verification


def open_link(token: str) -> Verification:
    """The verification behind a link that may still be used; LinkRefused otherwise."""
    max_age = dt.timedelta(days=settings.VERIFICATION_LINK_DAYS)
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise LinkRefused("This link has expired. Ask the secretariat for a new one.", gone=True) from exc
    except signing.BadSignature as exc:
        raise LinkRefused(
            "This link is not valid: it may have been cut or changed. Copy the whole link from the e-mail."
        ) from exc
    verification = (
        Verification.objects.filter(pk=data.get("v")).select_related("contact", "organization").first()
    )
    if verification is None or not secrets.compare_digest(
        verification.digest, _digest(str(data.get("s", "")))
    ):
        raise LinkRefused(
            "This link is not valid: it may have been cut or changed. Copy the whole link from the e-mail."
        )
    if verification.used is not None:
        raise LinkRefused(
            f"This link was already used on {verification.used:%Y-%m-%d}. Each link works once; "
            "ask the secretariat for a new one if something else has changed.",
            gone=True,
        )
    if verification.expires <= timezone.now():
        raise LinkRefused("This link has expired. Ask the secretariat for a new one.", gone=True)
    return verification


def _proposal(contact: Contact, data: dict[str, str]) -> dict[str, str]:
    """The corrected fields, checked as any entry is (e-mail, telephone, languages)."""
    from .forms import CorrectionForm

    errors: dict[str, str] = {}
    given = {name: (data.get(name) or "").strip() for name in CorrectionForm.FIELDS}
    given.update(contacts.check_channels(given, contact.state, errors))
    if errors:
        raise Invalid(errors)
    return {name: value for name, value in given.items() if value != (getattr(contact, name) or "")}


@transaction.atomic
def answer(verification: Verification, answers: dict[int, dict[str, str]]) -> dict[str, int]:
    """Apply what the link's holder sent: {contact id: fields}. An entry left as it was is
    confirmed; a changed one becomes a correction for the secretariat. Raises Invalid with
    "<contact id>-<field>" keys and changes nothing if any value is wrong."""
    verification = Verification.objects.select_for_update().get(pk=verification.pk)
    if verification.used is not None:
        raise LinkRefused("This link was already used. Each link works once.", gone=True)
    entries = {c.pk: c for c in scope(verification)}
    errors: dict[str, str] = {}
    proposals: dict[int, dict[str, str]] = {}
    for pk, contact in entries.items():
        try:
            proposals[pk] = _proposal(contact, answers.get(pk, {}))
        except Invalid as invalid:
            errors.update({f"{pk}-{k}": v for k, v in invalid.errors.items()})
    if errors:
        raise Invalid(errors)
    today = timezone.localdate()
    confirmed = corrected = 0
    for pk, contact in entries.items():
        if proposals[pk]:
            Correction.objects.create(
                verification=verification,
                contact=contact,
                proposed=proposals[pk],
                note=(answers.get(pk, {}).get("note") or "").strip(),
            )
            corrected += 1
        else:
            contact.verified_on = today
            contact.verified_by = f"{verification.sent_to}, through a verification link"
            contact._change_reason = "confirmed through a verification link"  # type: ignore[attr-defined]
            contact.save()
            confirmed += 1
    verification.used = timezone.now()
    verification.outcome = Verification.Outcome.CORRECTED if corrected else Verification.Outcome.CONFIRMED
    verification.save()
    return {"confirmed": confirmed, "corrected": corrected}


@transaction.atomic
def decide(user: Any, correction: Correction, approve: bool) -> Correction:
    """The secretariat approves (the entry takes the proposed values and counts as verified on
    the day of the proposal) or rejects a correction."""
    if not principal_for(user).sees_everything:
        raise PermissionDenied("only the secretariat approves corrections")
    if correction.status != Correction.Status.PENDING:
        raise Invalid({"status": f"this correction was already {correction.get_status_display()}"})
    if approve:
        contact = correction.contact
        for name, value in correction.proposed.items():
            setattr(contact, name, value)
        contact.verified_on = timezone.localtime(correction.created).date()
        contact.verified_by = (
            f"{correction.verification.sent_to}, through a verification link; "
            f"correction approved by {user.get_username()}"
        )
        contact._change_reason = f"correction approved by {user.get_username()}"  # type: ignore[attr-defined]
        contact.save()
    correction.status = Correction.Status.APPROVED if approve else Correction.Status.REJECTED
    correction.decided_by = user
    correction.decided = timezone.now()
    correction.save()
    return correction

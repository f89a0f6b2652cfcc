"""The directory's scheduled job: who keeps stale entries is told which, once a month."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Count

from coopmatrix.core.jobs import Outcome
from coopmatrix.core.roles import principal_for

from .models import Contact


def stale_contacts_report(job: Any, tracker: Any) -> Outcome:
    """E-mail each person who may edit directory entries the stale entries they may edit
    (counted by organization), with a link to the list; the visibility rule of each decides."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    tracker.step("Counting stale entries", users.count())
    sent = 0
    for done, user in enumerate(users, start=1):
        tracker(done)
        principal = principal_for(user)
        if not (principal.sees_everything or principal.may_edit_own):
            continue
        stale = Contact.objects.editable_by(user).stale()
        by_organization = list(
            stale.values("organization__name").annotate(n=Count("pk")).order_by("-n", "organization__name")
        )
        if not by_organization:
            continue
        total = sum(row["n"] for row in by_organization)
        lines = "\n".join(
            f"- {row['organization__name'] or '(no organization)'}: {row['n']}" for row in by_organization
        )
        send_mail(
            f"coopmatrix: {total} directory entries to verify",
            (
                f"{total} directory entries you keep have not been verified for "
                f"{settings.CONTACT_STALE_MONTHS} months or more:\n\n{lines}\n\n"
                f"See them: {settings.SITE_URL}/contacts/?stale=yes\n"
            ),
            None,
            [user.email],
        )
        sent += 1
    return Outcome(f"Stale directory entries: {sent} report(s) sent.")

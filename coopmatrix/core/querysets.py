"""The one visibility rule: every list, page, search, count, export and API call starts here.

`Model.objects.visible_to(user)` narrows a queryset to what the user may read;
`Model.objects.editable_by(user)` to what the user may change. Views, routers, exports and
commands call these and never test confidentiality themselves.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Exists, OuterRef, Q

from .roles import Principal, principal_for

PUBLIC, RESTRICTED, CONFIDENTIAL = "public", "restricted", "confidential"


def _shares(model: type[models.Model], principal: Principal, as_at: dt.datetime | None) -> Any:
    """Ids of the model's records shared with the principal's organization or State."""
    from .models import Share

    ct = ContentType.objects.get_for_model(model, for_concrete_model=True)
    shares = Share.history.as_of(as_at) if as_at else Share.objects.all()
    return shares.filter(_with_whom(principal), content_type_id=ct.pk).values("object_id")


def _with_whom(principal: Principal) -> Q:
    """Shares with the principal's organization or State (callers first ask that it has one)."""
    with_whom = Q()
    if principal.organization_id:
        with_whom |= Q(organization_id=principal.organization_id)
    if principal.state_id:
        with_whom |= Q(state_id=principal.state_id)
    return with_whom


def shared_ids(model: type[models.Model], principal: Principal) -> Any:
    """Ids of the model's records shared with the principal's organization or State (a subquery)."""
    return _shares(model, principal, None)


def all_shares(principal: Principal) -> Any:
    """Every share with the principal's organization or State, of every model (a queryset of
    `Share`; none for a principal of neither)."""
    from .models import Share

    if not (principal.organization_id or principal.state_id):
        return Share.objects.none()
    return Share.objects.filter(_with_whom(principal)).order_by()


def visibility_q(model: type[models.Model], principal: Principal, as_at: dt.datetime | None = None) -> Q:
    """The condition a record of `model` meets when `principal` may read it.

    With `as_at`, the condition reads the historical rows of the model and of Share
    (field `id` rather than `pk`, which is the history row's own key there).
    """
    if principal.sees_everything:
        return Q()
    if not _is_confidential_model(model):
        # A record with no level of its own (a referral, a provider's role) is seen with the
        # records it hangs on, named in `visibility_requires`.
        return _required_q(model, principal, as_at)
    return _own_q(model, principal, as_at) & _required_q(model, principal, as_at)


def _required_q(model: type[models.Model], principal: Principal, as_at: dt.datetime | None) -> Q:
    """A record that hangs on another (a membership on its organization) is seen only with it."""
    condition = Q()
    for name in getattr(model, "visibility_requires", ()):
        field = model._meta.get_field(name)
        related = cast(type[models.Model], field.related_model)
        rows = related.history.as_of(as_at) if as_at else related._default_manager.all()  # type: ignore[attr-defined]
        # Asked row by row of the record that hangs ("does its request exist among the visible
        # ones?"): a key lookup each, which both databases plan well. `link IN (visible ones)`
        # made SQLite drive the query from the visible ones (10 s for the overlaps queue's first
        # page over 20,000 activities) and, under "IS NULL OR", kept PostgreSQL from joining
        # (120 s over a million).
        visible = rows.filter(visibility_q(related, principal, as_at), id=OuterRef(f"{name}_id"))
        seen_with = Q(Exists(visible))
        nullable = getattr(field, "null", True)
        condition &= (Q(**{f"{name}_id__isnull": True}) | seen_with) if nullable else seen_with
    return condition


def _own_q(model: type[models.Model], principal: Principal, as_at: dt.datetime | None) -> Q:
    allowed = Q(confidentiality=PUBLIC)
    if not principal.authenticated:
        return allowed
    allowed |= Q(confidentiality=RESTRICTED)
    mine = Q()
    if principal.organization_id:
        mine |= Q(owner_id=principal.organization_id)
    mine |= belongs_q(model, principal)
    if principal.organization_id or principal.state_id:
        mine |= Q(id__in=_shares(model, principal, as_at))
        allowed |= Q(confidentiality=CONFIDENTIAL) & mine
    return allowed


def own_visibility_q(model: type[models.Model], principal: Principal) -> Q:
    """The rule's condition on a record's own level alone; what it hangs on
    (`visibility_requires`) is to be asked apart, record by record."""
    if principal.sees_everything or not _is_confidential_model(model):
        return Q()
    return _own_q(model, principal, None)


def edit_q(model: type[models.Model], principal: Principal) -> Q | None:
    """The condition a record meets when `principal` may change it; None: nothing."""
    if principal.sees_everything:
        return Q()
    if not principal.may_edit_own or not _is_confidential_model(model):
        return None
    mine = Q(pk__in=[])
    if principal.organization_id:
        mine |= Q(owner_id=principal.organization_id)
    return mine | belongs_q(model, principal)


def belongs_q(model: type[models.Model], principal: Principal) -> Q:
    """Records that belong to the principal's State or organization, whoever keeps them."""
    condition = Q(pk__in=[])
    state_field = getattr(model, "visibility_state_field", None)
    if state_field and principal.state_id:
        condition |= Q(**{f"{state_field}_id": principal.state_id})
    organization_field = getattr(model, "visibility_organization_field", None)
    if organization_field and principal.organization_id:
        condition |= Q(**{f"{organization_field}_id": principal.organization_id})
    return condition


def _is_confidential_model(model: type[models.Model]) -> bool:
    return any(f.name == "confidentiality" for f in model._meta.get_fields())


class VisibleQuerySet(models.QuerySet):
    """Manager and queryset of every record in coopmatrix."""

    def visible_to(self, user: Any) -> VisibleQuerySet:
        """Records the user may read (anonymous or None: the public)."""
        return self.filter(visibility_q(self.model, principal_for(user)))

    def editable_by(self, user: Any) -> VisibleQuerySet:
        """Records the user may change."""
        condition = edit_q(self.model, principal_for(user))
        if condition is None:
            return self.none()
        return self.filter(condition)


def visible_ids(holder: Any, model: type[models.Model]) -> set[Any]:
    """Keys of the `model` records the user may see, read once per request.

    `holder` is a request (the answer is kept on it for the rest of the request) or a user.
    What hangs off a visible record (its owner, its programme, its instruments, the organizations
    its history names) is shown only when it is in here too: a hidden record reads as absent.
    """
    user = getattr(holder, "user", holder)
    cache: dict[type[models.Model], set[Any]] | None = getattr(holder, "_coopmatrix_visible_ids", None)
    if cache is None:
        cache = {}
        if hasattr(holder, "user"):
            holder._coopmatrix_visible_ids = cache
    if model not in cache:
        records = model._default_manager.filter(visibility_q(model, principal_for(user)))
        cache[model] = set(records.values_list("pk", flat=True))
    return cache[model]


def seen(holder: Any, record: Any) -> Any:
    """`record` if the user may see it, else None; a related manager or queryset is narrowed."""
    if record is None:
        return None
    if hasattr(record, "all") and hasattr(record, "model"):  # a related manager or a queryset
        # Narrowed in the database by the rule itself: no list of keys travels.
        records = record.all()
        return records.filter(visibility_q(records.model, principal_for(getattr(holder, "user", holder))))
    if not isinstance(record, models.Model) or not _is_confidential_model(type(record)):
        return record  # nothing to narrow ("" from a template's missing attribute, a State …)
    return record if record.pk in visible_ids(holder, type(record)) else None

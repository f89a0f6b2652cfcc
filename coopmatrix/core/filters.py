"""A FilterSet base whose choice widgets render in Python, not one template per option.

The matrix filters offer every State, region, organization and instrument: some 700 options,
which Django's per-option widget templates took most of a page's time to draw.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

import django_filters
from django import forms
from django.db import models
from django.db.models import QuerySet
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django_filters.conf import settings as filter_settings


class _FastChoices:
    allow_multiple_selected = False

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> str:
        final = self.build_attrs(self.attrs, attrs)  # type: ignore[attr-defined]
        final["name"] = name
        if self.allow_multiple_selected:
            final["multiple"] = True
        values = value if isinstance(value, list | tuple) else [value]
        selected = {str(v) for v in values if v not in (None, "")}
        # Plain html.escape, not format_html: a filter form draws some 700 options per page, and
        # Django's lazy-aware helpers cost more than the rest of the form.
        options = mark_safe(  # noqa: S308 - every value and label is escaped here
            "".join(
                f'<option value="{escape(str(value), quote=True)}"'
                f"{' selected' if str(value) in selected else ''}>{escape(str(label))}</option>"
                for value, label in self._options()
            )
        )
        pairs = format_html_join(
            "", ' {}="{}"', ((k, v) for k, v in final.items() if v is not True and v not in (False, None))
        )
        flags = format_html_join("", " {}", ((k,) for k, v in final.items() if v is True))
        return format_html("<select{}{}>{}</select>", pairs, flags, options)

    def _options(self):
        choices = self.choices  # type: ignore[attr-defined]
        if isinstance(choices, forms.models.ModelChoiceIterator):
            yield from _model_options(choices, getattr(self, "option_rows", None))
            return
        for option_value, label in choices:
            if hasattr(option_value, "value"):  # ModelChoiceIteratorValue
                option_value = option_value.value
            yield ("" if option_value is None else option_value), label


def _model_options(choices: Any, given: Callable[[], list[tuple[Any, str]]] | None = None):
    """A model field's options from one plain query: Django iterates them through a server-side
    cursor on PostgreSQL, three round trips per list for a few hundred rows. `given`: options
    the filterset already read (two filters offering the same organizations read them once)."""
    field = choices.field
    if field.empty_label is not None:
        yield "", field.empty_label
    if getattr(field, "null_label", None) is not None:
        yield field.null_value, field.null_label
    if given is not None:
        yield from given()
        return
    model = choices.queryset.model
    fields = getattr(model, "option_label_fields", None)
    key = getattr(field, "to_field_name", None) or "pk"
    if fields and type(field).label_from_instance is forms.ModelChoiceField.label_from_instance:
        # A few columns instead of whole records: the State filter alone lists 280 of them.
        for value, *parts in choices.queryset.values_list(key, *fields):
            yield value, model.option_label(*parts)
        return
    for obj in list(choices.queryset):
        yield field.prepare_value(obj), field.label_from_instance(obj)


class FastSelect(_FastChoices, forms.Select):  # type: ignore[misc]
    pass


class FastSelectMultiple(_FastChoices, forms.SelectMultiple):  # type: ignore[misc]
    """A multiple choice, drawn by the browser as a searchable picker (Tom Select, see
    coopmatrix.js); without JavaScript it stays a plain multiple select."""

    allow_multiple_selected = True

    def build_attrs(
        self, base_attrs: dict[str, Any], extra_attrs: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        attrs = super().build_attrs(base_attrs, extra_attrs)
        attrs.setdefault("data-picker", True)
        attrs.setdefault("data-placeholder", gettext("Type to search…"))
        attrs.setdefault("data-remove-label", gettext("Remove"))
        return attrs


#: What a 64-bit integer column holds; a larger number is no record's key.
_LARGEST = 2**63 - 1


def _check_keys(field: Any, values: list[Any]) -> None:
    """A number past 64 bits is no valid choice: SQLite cannot even compare it (OverflowError, a
    500), so it is refused as an unknown choice before any query."""
    name = getattr(field, "to_field_name", None)
    model_field = field.queryset.model._meta.get_field(name) if name else field.queryset.model._meta.pk
    if not isinstance(model_field, models.IntegerField):
        return
    for value in values:
        text = str(value).strip()
        if text.lstrip("+-").isdigit() and abs(int(text)) > _LARGEST:
            raise forms.ValidationError(
                field.error_messages["invalid_choice"], code="invalid_choice", params={"value": value}
            )


class BoundedModelMultipleChoiceField(django_filters.fields.ModelMultipleChoiceField):
    def _check_values(self, value: Any) -> Any:
        _check_keys(self, list(value))
        return super()._check_values(value)


class BoundedModelChoiceField(django_filters.fields.ModelChoiceField):
    def to_python(self, value: Any) -> Any:
        if value not in self.empty_values:
            _check_keys(self, [value])
        return super().to_python(value)


class ModelMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    """Compares the chosen records themselves, not their `to_field_name`.

    django-filter builds `{field: record.code}` when the options are keyed by code, which a
    foreign key then reads as an id ("Field 'id' expected a number but got 'AFG'"). The record
    is what the field holds, whatever the options are keyed by.
    """

    field_class = BoundedModelMultipleChoiceField

    def get_filter_predicate(self, v: Any) -> dict[str, Any]:
        name = self.field_name
        if name and self.lookup_expr != filter_settings.DEFAULT_LOOKUP_EXPR:
            name = f"{name}__{self.lookup_expr}"
        return {name: v}


class FilterForm(forms.Form):
    """The form of one filterset. django-filter makes its fields anew for each filterset (from
    filters deep-copied for it), then Django's form would deep-copy them once more, choices and
    querysets included: a third of an API page's time. The form takes them as they are."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        own = type(self).base_fields
        type(self).base_fields = {}  # the class is this filterset's alone (get_form_class)
        try:
            super().__init__(*args, **kwargs)
        finally:
            type(self).base_fields = own
        self.fields = dict(own)


class FilterSet(django_filters.FilterSet):
    """django-filter's FilterSet, with fast select widgets for every choice filter, and multiple
    choices of records compared as records (see ModelMultipleChoiceFilter): every filterset of
    coopmatrix gets both, so a new one cannot forget them."""

    #: Set by the API: the form holds only the filters the query gives (a range filter's data is
    #: `name_after`, `name_min` …). Each field made is a queryset or a list of choices built; a
    #: page drawing the whole form needs them all, an API answer only the ones it validates.
    given_only = False

    def get_form_class(self) -> Any:
        items = self.filters.items()
        if self.given_only:
            keys = {key for key in self.data if self.data.get(key) not in (None, "")}
            items = [(n, f) for n, f in items if any(k == n or k.startswith(n + "_") for k in keys)]
        fields = {name: item.field for name, item in items}
        return type(f"{type(self).__name__}Form", (FilterForm,), fields)

    def option_rows(self, name: str) -> Callable[[], list[tuple[Any, str]]] | None:
        """A function giving the (value, label) options of the filter `name`, read only if the
        form is drawn, when the filterset has them already (override); None: the field reads
        its own queryset."""
        return None

    @property
    def form(self) -> Any:
        form = super().form
        if not getattr(self, "_options_given", False):
            self._options_given = True
            for name, field in form.fields.items():
                rows = self.option_rows(name)
                if rows is not None:
                    field.widget.option_rows = rows
        return form

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for item in self.filters.values():
            if type(item) is django_filters.ModelMultipleChoiceFilter:
                item.__class__ = ModelMultipleChoiceFilter
            elif isinstance(item, django_filters.ModelChoiceFilter):
                item.field_class = BoundedModelChoiceField
            if "widget" in item.extra:
                continue
            if isinstance(
                item, django_filters.MultipleChoiceFilter | django_filters.ModelMultipleChoiceFilter
            ):
                item.extra["widget"] = FastSelectMultiple
            elif isinstance(item, django_filters.ChoiceFilter | django_filters.ModelChoiceFilter):
                item.extra["widget"] = FastSelect


def empty(value: Any) -> bool:
    """Whether a filter was given nothing. A multiple-choice filter left empty cleans to
    `queryset.none()`, which `not value` would compile and run as a query (about 1 ms each)."""
    if isinstance(value, QuerySet):
        return value.query.is_empty()
    return not value


def active_filters(filterset: Any, query: Any) -> list[dict[str, str]]:
    """The filters a list is narrowed by, in words: one chip per value chosen, each with the
    query that removes it (and goes back to the first page). Values the form refused are left
    out: the form names them beside their field."""
    form = filterset.form
    if not form.is_valid():
        return []
    chips = []
    for name, field in form.fields.items():
        raw = [value for value in query.getlist(name) if value not in ("", None)]
        if not raw or not _given(form.cleaned_data.get(name)):
            continue
        labels = _value_labels(field, form.cleaned_data[name])
        for value in dict.fromkeys(raw):
            rest = query.copy()
            rest.setlist(name, [other for other in raw if other != value])
            rest.pop("page", None)
            chips.append(
                {
                    "field": str(field.label or name),
                    "value": labels.get(str(value), str(value)),
                    "remove": rest.urlencode(),
                }
            )
    return chips


def _given(value: Any) -> bool:
    if isinstance(value, QuerySet):
        return not value.query.is_empty()
    return value not in (None, "", [], ())


def _value_labels(field: Any, cleaned: Any) -> dict[str, str]:
    """What each value of a filter means, in the words its options use."""
    if isinstance(field, forms.ModelMultipleChoiceField | forms.ModelChoiceField):
        records = cleaned if isinstance(cleaned, QuerySet | list | tuple) else [cleaned]
        return {str(field.prepare_value(obj)): str(field.label_from_instance(obj)) for obj in records}
    choices = getattr(field, "choices", None) or getattr(field.widget, "choices", None) or []
    return {str(value): str(label) for value, label in choices if not isinstance(label, list | tuple)}


class KeysField(forms.Field):
    """A list of record keys (`ids=3&ids=5`), each a whole number a 64-bit column holds; any
    other value is refused, naming it."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        if value in self.empty_values:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        keys = []
        for item in values:
            text = str(item).strip()
            if not text.isdigit() or int(text) > _LARGEST:
                raise forms.ValidationError(
                    "%(value)r is not the key of a record", code="invalid_key", params={"value": item}
                )
            keys.append(int(text))
        return keys


class KeysFilter(django_filters.Filter):
    """The records whose keys are given (the rows a user ticked, exported or changed together)."""

    field_class = KeysField

    def filter(self, qs: Any, value: Any) -> Any:
        return qs.filter(pk__in=value) if value else qs

"""System check: every foreign key between coopmatrix's apps points down.

The apps are layered in the order of INSTALLED_APPS (core, then geo and the vocabularies, the
directory, treaties, the matrix, accounts); an app's model may refer to its own app's models
and to those of the apps before it. The models core reaches through settings (the organization
and the State that records belong to and are shared with, like AUTH_USER_MODEL) are exempt.
import-linter's layers contract (.importlinter) checks the Python imports the same way.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import checks

PREFIX = "coopmatrix."


def _exempt() -> set[str]:
    return {
        settings.COOPMATRIX_ORGANIZATION_MODEL.lower(),
        settings.COOPMATRIX_STATE_MODEL.lower(),
    }


@checks.register(checks.Tags.models)
def foreign_keys_point_down(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    order = [c.label for c in apps.get_app_configs() if c.name.startswith(PREFIX)]
    return upward_links(apps.get_models(include_auto_created=True), order)


def upward_links(models: Any, order: list[str]) -> list[checks.CheckMessage]:
    """An error for each link from a model to a model of an app later in `order`."""
    rank = {label: index for index, label in enumerate(order)}
    exempt = _exempt()
    errors: list[checks.CheckMessage] = []
    for model in models:
        own = model._meta.app_label
        if own not in rank:
            continue
        for field in model._meta.get_fields(include_hidden=True):
            if not field.is_relation or field.auto_created or field.related_model is None:
                continue
            related = field.related_model
            # A model not yet resolved (a lazy reference) is named "app_label.ModelName".
            label = related if isinstance(related, str) else related._meta.label
            app_label = label.split(".")[0]
            if app_label not in rank or label.lower() in exempt:
                continue
            if rank[app_label] > rank[own]:
                errors.append(
                    checks.Error(
                        f"{model._meta.label}.{field.name} refers to {label}, an app above "
                        f"{own!r} in INSTALLED_APPS",
                        hint="Move the model down (as thematic areas moved to the vocabulary app), "
                        "or declare the link in the upper app.",
                        obj=model,
                        id="coopmatrix.E001",
                    )
                )
    return errors


@checks.register(checks.Tags.security, deploy=True)
def secret_key_is_not_the_local_one(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """`make run` generates a key per checkout (settings.py); production must set SECRET_KEY."""
    if str(getattr(settings, "SECRET_KEY", "")).startswith("local-"):
        return [
            checks.Warning(
                "SECRET_KEY is the key generated for a local run.",
                hint="Set the SECRET_KEY environment variable to a long random value of your own.",
                id="coopmatrix.W001",
            )
        ]
    return []

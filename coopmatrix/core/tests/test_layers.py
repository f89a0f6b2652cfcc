"""The layering holds: foreign keys point down (system check) and imports do (import-linter)."""

import subprocess
import sys
from pathlib import Path

from django.apps import apps
from django.core import checks
from django.db import models
from django.test.utils import isolate_apps

from coopmatrix.core.checks import upward_links

ORDER = [
    "core",
    "geo",
    "vocabulary",
    "directory",
    "treaties",
    "matrix",
    "overlaps",
    "exchange",
    "funding",
    "accounts",
]


def test_the_installed_apps_keep_their_links_pointing_down():
    assert [e for e in checks.run_checks() if e.id == "coopmatrix.E001"] == []
    labels = [c.label for c in apps.get_app_configs() if c.name.startswith("coopmatrix.")]
    assert labels == ORDER


@isolate_apps("coopmatrix.geo")
def test_a_link_from_a_lower_app_to_an_upper_one_is_an_error():
    class Landmark(models.Model):  # noqa: DJ008 - never shown
        activity = models.ForeignKey("matrix.Activity", on_delete=models.CASCADE)
        state = models.ForeignKey("geo.State", on_delete=models.CASCADE)

        class Meta:
            app_label = "geo"

    errors = upward_links([Landmark], ORDER)
    assert [e.id for e in errors] == ["coopmatrix.E001"]
    assert "geo.Landmark.activity refers to matrix.Activity" in errors[0].msg


@isolate_apps("coopmatrix.geo")
def test_the_organization_and_state_core_names_through_settings_are_exempt():
    class Record(models.Model):  # noqa: DJ008 - never shown
        owner = models.ForeignKey("directory.Organization", on_delete=models.CASCADE)

        class Meta:
            app_label = "core"

    assert upward_links([Record], ORDER) == []


def test_imports_follow_the_layers():
    """lint-imports with the project's contracts (.importlinter): no app imports one above it,
    core imports no domain app, the API imports no page module."""
    root = Path(__file__).resolve().parents[3]
    tool = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(tool), "--no-cache"], cwd=root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 kept, 0 broken" in result.stdout

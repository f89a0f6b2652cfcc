"""Load all reference data in one transaction, from every app that declares a reference loader.

Every file is read and every row checked; one bad row anywhere means ImportFailed with all errors
and an unchanged database (the loaders write inside one transaction, which the failure undoes).
A rerun writes only what changed. The loaders run in the order their dependencies require
(States before the organizations that name them, both before the matrix's records).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction

from .importing import ImportFailed, RowError, Stats
from .registry import registry


def load_reference(data_dir: Path | None = None) -> Stats:
    """Load (or refresh) the reference data; `data_dir` replaces every app's data folder (tests)."""
    errors: list[RowError] = []
    plans: dict[str, Any] = {}
    stats = Stats()
    with transaction.atomic():
        for loader in registry.loaders():
            if loader.needs_written and errors:
                continue  # it would only report the records the failed loaders did not write
            plans[loader.name] = loader.read(data_dir, errors, plans)
            if not errors:
                loader.write(plans[loader.name], stats)
        if errors:
            raise ImportFailed(errors)
    return stats


def reference_files() -> list[str]:
    return [name for loader in registry.loaders() for name in loader.files]

"""Load all reference data in one transaction: States and regions, organizations, instruments.

Every file is read and every row checked before anything is written; one bad row anywhere means
ImportFailed with all errors and an unchanged database. A rerun writes only what changed.
"""

from __future__ import annotations

from pathlib import Path

from django.db import transaction

from .importing import ImportFailed, RowError, Stats


def load_reference(data_dir: Path | None = None) -> Stats:
    """Load (or refresh) the reference data; `data_dir` replaces every app's data folder (tests)."""
    from coopmatrix.directory import reference as directory
    from coopmatrix.geo import reference as geo
    from coopmatrix.matrix import reference as matrix
    from coopmatrix.treaties import reference as treaties

    errors: list[RowError] = []
    geo_plan = geo.read(data_dir, errors)
    directory_plan = directory.read(data_dir, errors, geo_plan.codes())
    treaty_plan = treaties.read(data_dir, errors)
    if errors:
        raise ImportFailed(errors)
    stats = Stats()
    with transaction.atomic():
        geo.write(geo_plan, stats)
        directory.write(directory_plan, stats)
        treaties.write(treaty_plan, stats)
        # The matrix's records name States, organizations and instruments as written above:
        # checked now, inside the same transaction, so that an error undoes everything.
        matrix_plan = matrix.read(data_dir, errors)
        if errors:
            raise ImportFailed(errors)
        matrix.write(matrix_plan, stats)
    return stats


def reference_files() -> list[str]:
    from coopmatrix.directory import reference as directory
    from coopmatrix.geo import reference as geo
    from coopmatrix.matrix import reference as matrix
    from coopmatrix.treaties import reference as treaties

    return [*geo.FILES, *directory.FILES, *treaties.FILES, *matrix.FILES]

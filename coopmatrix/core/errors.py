"""Errors every app's write path raises, which pages, the API and importers all report."""


class Invalid(ValueError):
    """Input refused, with a reason per field; nothing was written."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in errors.items()))


class InUse(Exception):
    """A record others still point to is not deleted; the message says what holds it."""

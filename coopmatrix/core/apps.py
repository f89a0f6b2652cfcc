from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "coopmatrix.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import (
            checks,  # noqa: F401 - registers the system checks
            lookups,  # noqa: F401 - registers `__among`
        )
        from .public_cache import install

        # Every connection watches its writes, so that no cached answer outlives its data.
        connection_created.connect(install, dispatch_uid="coopmatrix-watch-writes")

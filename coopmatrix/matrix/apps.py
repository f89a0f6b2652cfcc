from django.apps import AppConfig


class MatrixConfig(AppConfig):
    name = "coopmatrix.matrix"
    label = "matrix"
    verbose_name = "Assistance matrix"

    def ready(self) -> None:
        from coopmatrix.core import panels

        from . import signals  # noqa: F401 - connects the receivers
        from .views import state_panel

        panels.register("state", state_panel)

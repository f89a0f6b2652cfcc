from django.apps import AppConfig


class TreatiesConfig(AppConfig):
    name = "coopmatrix.treaties"
    label = "treaties"
    verbose_name = "Treaties"

    def ready(self) -> None:
        from coopmatrix.core import panels

        from .views import state_panel

        panels.register("state", state_panel)

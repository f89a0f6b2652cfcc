from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "coopmatrix.directory"
    label = "directory"
    verbose_name = "Directory"

    def ready(self) -> None:
        from coopmatrix.core import panels

        from .views import state_panel

        panels.register("state", state_panel)

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "coopmatrix.core"
    label = "core"
    verbose_name = "Core"

from django.apps import AppConfig


class TreatiesConfig(AppConfig):
    name = "coopmatrix.treaties"
    label = "treaties"
    verbose_name = "Treaties"

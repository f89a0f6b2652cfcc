from django.apps import AppConfig


class GeoConfig(AppConfig):
    name = "coopmatrix.geo"
    label = "geo"
    verbose_name = "States and regions"

from django.apps import AppConfig


class MatrixConfig(AppConfig):
    name = "coopmatrix.matrix"
    label = "matrix"
    verbose_name = "Assistance matrix"

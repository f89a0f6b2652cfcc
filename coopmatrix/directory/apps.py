from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "coopmatrix.directory"
    label = "directory"
    verbose_name = "Directory"

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "coopmatrix.accounts"
    label = "accounts"
    verbose_name = "Accounts"

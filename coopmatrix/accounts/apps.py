from coopmatrix.core.registry import DomainApp


class AccountsConfig(DomainApp):
    default = True  # DomainApp itself is not an app: this class is
    name = "coopmatrix.accounts"
    label = "accounts"
    verbose_name = "Accounts"
    urls = "coopmatrix.accounts.urls"
    url_prefix = "me/"

    def ready(self) -> None:
        super().ready()
        from allauth.account.signals import password_reset

        from coopmatrix.core.registry import registry

        from .lockout import unlock_after_password_reset
        from .models import ApiToken

        password_reset.connect(unlock_after_password_reset, dispatch_uid="coopmatrix-unlock-on-reset")
        # Core's API sign-in asks for a token's user through this hook, not the accounts app.
        registry.hooks["api_token"] = lambda token: getattr(
            ApiToken.objects.authenticate(token), "user", None
        )

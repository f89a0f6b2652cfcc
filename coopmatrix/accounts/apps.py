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
        from coopmatrix.core.registry import registry

        from .models import ApiToken

        # Core's API sign-in asks for a token's user through this hook, not the accounts app.
        registry.hooks["api_token"] = lambda token: getattr(
            ApiToken.objects.authenticate(token), "user", None
        )

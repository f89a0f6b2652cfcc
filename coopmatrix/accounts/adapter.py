from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """Accounts are created by administrators: records are shared by role, not by sign-up."""

    def is_open_for_signup(self, request):
        return False

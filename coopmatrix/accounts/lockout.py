"""How Axes names the account that is failing to sign in through allauth's form."""


def login_name(request, credentials=None) -> str:
    # allauth passes the account's e-mail or username to authenticate(); the form field is "login".
    credentials = credentials or {}
    name = credentials.get("email") or credentials.get("username")
    if not name and request is not None:
        name = getattr(request, "POST", {}).get("login", "")
    return (name or "").strip().lower()

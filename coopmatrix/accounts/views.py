from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .forms import TokenForm
from .models import ApiToken


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    """The user's personal API tokens; a new token's secret is shown once, here."""
    secret = None
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            try:
                _token, secret = ApiToken.issue(
                    request.user, form.cleaned_data["name"], form.cleaned_data["days"]
                )
            except ValidationError as refused:
                form.add_error(None, refused)
            else:
                form = TokenForm()
    else:
        form = TokenForm()
    return render(
        request,
        "accounts/tokens.html",
        {"form": form, "secret": secret, "tokens": request.user.api_tokens.all()},
    )


@login_required
@require_POST
def revoke_token(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    token.revoke()
    messages.success(request, _("Token %(name)s revoked.") % {"name": token.name})
    return redirect("accounts:tokens")


@login_required
def continue_after_setup(request: HttpRequest) -> HttpResponse:
    """After setting up two-factor sign-in, on to the page the user asked for (a path of this
    site only), else home."""
    from django.utils.http import url_has_allowed_host_and_scheme

    from .middleware import NEXT_KEY

    target = request.session.pop(NEXT_KEY, "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ) or not target.startswith("/"):
        target = reverse("home")
    return redirect(target)

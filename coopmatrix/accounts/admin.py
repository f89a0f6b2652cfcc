from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from simple_history.admin import SimpleHistoryAdmin

from .models import ApiToken, Profile


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class CoopUserAdmin(UserAdmin):
    inlines = [ProfileInline]
    list_display = ("username", "email", "is_active", "is_staff", "role")

    @admin.display(description="role")
    def role(self, obj):
        return obj.profile.get_role_display() if hasattr(obj, "profile") else "—"


@admin.register(Profile)
class ProfileAdmin(SimpleHistoryAdmin):
    list_display = ("user", "organization", "role")
    list_filter = ("role",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created", "expires", "revoked", "last_used")
    readonly_fields = ("prefix", "digest", "created", "last_used")
    actions = ["revoke"]

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            token.revoke()


def administrators_only(request) -> bool:
    """The admin shows every record, whatever its confidentiality: administrators only."""
    from coopmatrix.core.roles import Role, principal_for

    user = request.user
    if not (user.is_active and user.is_staff):
        return False
    principal = principal_for(user)
    return principal.superuser or principal.role == Role.ADMINISTRATOR


admin.site.has_permission = administrators_only  # type: ignore[method-assign]
admin.site.site_header = "coopmatrix administration"

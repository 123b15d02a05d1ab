from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.admin_mixins import AuditedAdmin

from . import permissions, services
from .models import StaffRole, User


class StaffRoleInline(admin.TabularInline):
    model = StaffRole
    extra = 0
    autocomplete_fields = ["state"]


@admin.register(User)
class UserAdmin(AuditedAdmin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_active", "is_staff", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser", "staff_roles__kind"]
    search_fields = ["email", "first_name", "last_name"]
    inlines = [StaffRoleInline]
    actions = ["reset_two_factor"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (gettext_lazy("Personal info"), {"fields": ["first_name", "last_name"]}),
        (
            gettext_lazy("Permissions"),
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        (gettext_lazy("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and {"is_staff", "is_superuser", "is_active", "groups"} & set(form.changed_data):
            permissions.roles_changed(obj)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is StaffRole and formset.has_changed():
            permissions.roles_changed(form.instance)

    @admin.action(description=gettext_lazy("Reset two-step verification (lost device)"))
    def reset_two_factor(self, request, queryset):
        for user in queryset:
            removed = services.user_mfa_reset(
                user=user, by=request.user, reason=_("Lost device, reset from the admin.")
            )
            self.message_user(
                request,
                _(
                    "%(user)s: %(count)d authenticator(s) removed; a new one is set up "
                    "at the next sign-in."
                )
                % {"user": user.email, "count": removed},
                messages.SUCCESS,
            )


@admin.register(StaffRole)
class StaffRoleAdmin(AuditedAdmin):
    list_display = ["user", "kind", "state", "granted_at"]
    list_filter = ["kind", "state"]
    search_fields = ["user__email"]
    list_select_related = ["user", "state"]
    autocomplete_fields = ["user", "state"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        permissions.roles_changed(obj.user)

    def delete_model(self, request, obj):
        user = obj.user
        super().delete_model(request, obj)
        permissions.roles_changed(user)

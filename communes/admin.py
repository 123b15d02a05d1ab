from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.admin_mixins import AuditedAdmin

from . import services
from .models import (
    CommunalCouncil,
    Commune,
    Municipality,
    Parish,
    Resident,
    ResidentClaim,
    Spokesperson,
    State,
)


@admin.register(State)
class StateAdmin(AuditedAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Municipality)
class MunicipalityAdmin(AuditedAdmin):
    list_display = ["code", "name", "state"]
    list_filter = ["state"]
    search_fields = ["code", "name"]
    list_select_related = ["state"]


@admin.register(Parish)
class ParishAdmin(AuditedAdmin):
    list_display = ["code", "name", "municipality"]
    list_filter = ["municipality__state"]
    search_fields = ["code", "name", "municipality__name"]
    list_select_related = ["municipality"]
    autocomplete_fields = ["municipality"]


class CommunalCouncilInline(admin.TabularInline):
    model = CommunalCouncil
    extra = 0
    fields = ["code", "name", "families", "kind"]


@admin.register(Commune)
class CommuneAdmin(AuditedAdmin):
    list_display = ["code", "name", "kind", "status", "parish", "registered_on"]
    list_filter = ["kind", "status", "parish__municipality__state"]
    search_fields = ["code", "name", "parish__name", "parish__municipality__name"]
    list_select_related = ["parish"]
    autocomplete_fields = ["parish"]
    date_hierarchy = "registered_on"
    inlines = [CommunalCouncilInline]
    actions = ["convert_circuits"]

    @admin.action(description=gettext_lazy("Convert the selected circuits into communes (today)"))
    def convert_circuits(self, request, queryset):
        converted = 0
        for commune in queryset:
            try:
                services.commune_convert_circuit(
                    commune=commune, on=timezone.localdate(), by=request.user
                )
            except ValidationError as error:
                self.message_user(request, f"{commune}: {' '.join(error.messages)}", messages.ERROR)
            else:
                converted += 1
        if converted:
            self.message_user(
                request, _("%(count)d circuit(s) became communes.") % {"count": converted}
            )


@admin.register(CommunalCouncil)
class CommunalCouncilAdmin(AuditedAdmin):
    list_display = ["code", "name", "commune", "kind", "families"]
    list_filter = ["kind", "commune__parish__municipality__state"]
    search_fields = ["code", "name", "commune__name", "commune__code"]
    list_select_related = ["commune"]
    autocomplete_fields = ["commune"]


@admin.register(Resident)
class ResidentAdmin(AuditedAdmin):
    list_display = ["cedula", "full_name", "council", "verification"]
    list_filter = ["verification", "council__commune__parish__municipality__state"]
    search_fields = ["cedula", "full_name", "council__code", "council__commune__code"]
    list_select_related = ["council"]
    autocomplete_fields = ["council", "user"]
    readonly_fields = ["verified_by", "verified_at"]


@admin.register(ResidentClaim)
class ResidentClaimAdmin(AuditedAdmin):
    list_display = ["resident", "user", "status", "created_at", "decided_by", "decided_at"]
    list_filter = ["status"]
    search_fields = ["resident__cedula", "resident__full_name", "user__email"]
    list_select_related = ["resident", "user", "decided_by"]
    # Decisions are taken in the verification queue, where the rules are enforced.
    readonly_fields = [f.name for f in ResidentClaim._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Spokesperson)
class SpokespersonAdmin(AuditedAdmin):
    list_display = ["resident", "commune", "unit", "standing", "term_start", "term_end", "ended_on"]
    list_filter = ["unit", "standing", "commune__parish__municipality__state"]
    search_fields = ["resident__full_name", "resident__cedula", "commune__name", "commune__code"]
    list_select_related = ["resident", "commune"]
    autocomplete_fields = ["resident", "commune"]

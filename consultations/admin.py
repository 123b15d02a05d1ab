from django.contrib import admin

from audit.admin_mixins import AuditedAdmin

from .models import Consultation, Exclusion, PhaseTransition, Project


class PhaseTransitionInline(admin.TabularInline):
    model = PhaseTransition
    extra = 0
    can_delete = False
    readonly_fields = ["from_phase", "to_phase", "at", "by", "reason"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Consultation)
class ConsultationAdmin(AuditedAdmin):
    """Phases move only through the cycle pages and the scheduled job, never by editing here."""

    list_display = ["name", "year", "quarter", "phase", "voting_opens_at"]
    list_filter = ["phase", "year"]
    search_fields = ["name"]
    readonly_fields = ["phase", "rules_frozen_at", "created_from"]
    inlines = [PhaseTransitionInline]


@admin.register(Exclusion)
class ExclusionAdmin(AuditedAdmin):
    list_display = ["consultation", "commune", "kind", "created_at"]
    list_filter = ["kind", "consultation"]
    search_fields = ["commune__name", "commune__code", "reason"]
    list_select_related = ["consultation", "commune"]
    autocomplete_fields = ["commune"]


@admin.register(Project)
class ProjectAdmin(AuditedAdmin):
    list_display = ["title", "commune", "consultation", "status"]
    list_filter = ["status", "consultation"]
    search_fields = ["title", "commune__name", "commune__code"]
    list_select_related = ["commune", "consultation"]
    autocomplete_fields = ["commune"]

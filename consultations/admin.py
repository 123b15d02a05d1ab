from django.contrib import admin

from audit.admin_mixins import AuditedAdmin

from .models import (
    Assembly,
    Consultation,
    Exclusion,
    PhaseTransition,
    Problem,
    Project,
    ProjectPhoto,
)


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


class ProblemInline(admin.TabularInline):
    model = Problem
    extra = 0


@admin.register(Assembly)
class AssemblyAdmin(AuditedAdmin):
    """Quorum figures are computed when the assembly is recorded; they are not edited here."""

    list_display = ["commune", "consultation", "held_on", "call", "attendance", "quorum_reached"]
    list_filter = ["quorum_reached", "call", "consultation"]
    search_fields = ["commune__name", "commune__code", "place"]
    list_select_related = ["commune", "consultation"]
    readonly_fields = ["eligible", "quorum_required", "quorum_reached", "minutes", "recorded_by"]
    autocomplete_fields = ["commune"]
    inlines = [ProblemInline]


@admin.register(ProjectPhoto)
class ProjectPhotoAdmin(AuditedAdmin):
    list_display = ["project", "file", "uploaded_at"]
    search_fields = ["project__title"]
    list_select_related = ["project", "file"]
    raw_id_fields = ["project", "file"]

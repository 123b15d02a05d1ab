"""Voting centres and tables, edited by the cycle admin (imports do the bulk; see the README)."""

from django.contrib import admin

from audit.admin_mixins import AuditedAdmin

from .models import TallySheet, VotingBookEntry, VotingCentre, VotingTable


def _has_voted_at(table: VotingTable) -> bool:
    return (
        VotingBookEntry.objects.filter(table=table).exists()
        or TallySheet.objects.filter(table=table).exists()
    )


class VotingTableInline(admin.TabularInline):
    model = VotingTable
    fields = ["code", "number", "commune"]
    autocomplete_fields = ["commune"]
    extra = 0
    can_delete = False


@admin.register(VotingCentre)
class VotingCentreAdmin(AuditedAdmin):
    list_display = ["code", "name", "parish"]
    list_filter = ["parish__municipality__state"]
    search_fields = ["code", "name", "parish__name"]
    list_select_related = ["parish"]
    autocomplete_fields = ["parish"]
    inlines = [VotingTableInline]


@admin.register(VotingTable)
class VotingTableAdmin(AuditedAdmin):
    list_display = ["code", "centre", "number", "commune"]
    list_filter = ["centre__parish__municipality__state"]
    search_fields = ["code", "centre__name", "commune__name", "commune__code"]
    list_select_related = ["centre", "commune"]
    autocomplete_fields = ["centre", "commune"]

    def get_readonly_fields(self, request, obj=None):
        # Once people voted at a table, its place and commune are part of a round's record.
        if obj is not None and _has_voted_at(obj):
            return ["code", "centre", "number", "commune"]
        return []

    def has_delete_permission(self, request, obj=None):
        return obj is None or not _has_voted_at(obj)

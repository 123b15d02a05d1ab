"""Funding sources and who acts for each, set by the cycle admin. Money itself moves only
through the services (and their ledger), never through the admin."""

from django.contrib import admin

from audit.admin_mixins import AuditedAdmin

from .models import FundingSource


@admin.register(FundingSource)
class FundingSourceAdmin(AuditedAdmin):
    list_display = ["name", "kind", "state", "municipality"]
    list_filter = ["kind", "state"]
    search_fields = ["name"]
    autocomplete_fields = ["state", "municipality"]
    filter_horizontal = ["staff"]

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from funding.checks import funding_breaches


class Command(BaseCommand):
    help = (
        "Recompute every money invariant from the ledger and the documents (disbursed within "
        "allocated, spent within disbursed, documents agreeing with the ledger, reversals); "
        "list each breach and exit non-zero if there is any."
    )

    def handle(self, *args, **options):
        breaches = funding_breaches()
        for breach in breaches:
            self.stdout.write(breach)
        if breaches:
            raise CommandError(
                ngettext("%(n)d breach found.", "%(n)d breaches found.", len(breaches))
                % {"n": len(breaches)}
            )
        self.stdout.write(self.style.SUCCESS(_("No breach found.")))

from django.core.management.base import BaseCommand, CommandError

from audit.models import AuditEntry
from audit.trail import verify


class Command(BaseCommand):
    help = (
        "Check the audit trail's hash chain: any changed, removed or reordered entry is reported."
    )

    def handle(self, *args, **options):
        problems = verify()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"The audit trail is NOT intact: {len(problems)} problem(s).")
        self.stdout.write(
            self.style.SUCCESS(f"The audit trail is intact: {AuditEntry.objects.count()} entries.")
        )

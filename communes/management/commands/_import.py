"""What the three import commands share: arguments, the report and the exit status."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from communes.importing import ImportFileError, ImportSpec, import_csv


class ImportCommand(BaseCommand):
    spec: ImportSpec
    what: str

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file, UTF-8, with a header row.")
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Import the valid rows and report the invalid ones (default: a bad row "
            "changes nothing).",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="Do not show the progress bar."
        )

    def handle(self, *args, file, skip_invalid, no_progress, **options):
        try:
            with open(file, encoding="utf-8-sig", newline="") as lines:
                report = import_csv(
                    lines,
                    spec=self.spec,
                    skip_invalid=skip_invalid,
                    progress=False if no_progress else None,
                )
        except FileNotFoundError:
            raise CommandError(_("%(file)s: no such file.") % {"file": file}) from None
        except UnicodeDecodeError as exc:
            raise CommandError(
                _("%(file)s: not UTF-8 text (byte %(byte)d).") % {"file": file, "byte": exc.start}
            ) from None
        except ImportFileError as exc:
            raise CommandError(f"{file}: {exc}") from None

        for error in report.errors:
            self.stderr.write(f"{file}:{error.line}: {error.message}")
        if not report.written:
            raise CommandError(
                _(
                    "%(bad)d invalid row(s) of %(rows)d; nothing was imported. Fix them, or use "
                    "--skip-invalid to import the valid rows."
                )
                % {"bad": len(report.errors), "rows": report.rows}
            )
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "%(what)s: %(rows)d row(s) read, %(created)d created, %(updated)d updated, "
                    "%(unchanged)d unchanged, %(skipped)d skipped as invalid."
                )
                % {
                    "what": self.what,
                    "rows": report.rows,
                    "created": report.created,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "skipped": len(report.errors),
                }
            )
        )

from django.utils.translation import gettext_lazy as _

from communes.management.commands._import import ImportCommand
from voting.table_import import TABLES


class Command(ImportCommand):
    help = (
        "Import voting tables: centre_code,number,commune_code (the centres first, with "
        "import_voting_centres)."
    )
    spec = TABLES
    what = _("Voting tables")

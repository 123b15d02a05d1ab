from django.utils.translation import gettext_lazy as _

from communes.management.commands._import import ImportCommand
from voting.table_import import CENTRES


class Command(ImportCommand):
    help = "Import voting centres: code,name,parish_code[,address]."
    spec = CENTRES
    what = _("Voting centres")

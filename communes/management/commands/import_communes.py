from django.utils.translation import gettext_lazy as _

from communes.importing import COMMUNES

from ._import import ImportCommand


class Command(ImportCommand):
    help = (
        "Import communes and communal circuits: "
        "code,name,kind,parish_code,registered_on[,status,bank_account]."
    )
    spec = COMMUNES
    what = _("Communes")

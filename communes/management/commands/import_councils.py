from django.utils.translation import gettext_lazy as _

from communes.importing import COUNCILS

from ._import import ImportCommand


class Command(ImportCommand):
    help = "Import communal councils: code,name,commune_code,families[,kind]."
    spec = COUNCILS
    what = _("Communal councils")

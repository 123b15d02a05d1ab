from django.utils.translation import gettext_lazy as _

from communes.importing import RESIDENTS

from ._import import ImportCommand


class Command(ImportCommand):
    help = "Import the census (voter register): cedula,full_name,birth_date,council_code."
    spec = RESIDENTS
    what = _("Residents")

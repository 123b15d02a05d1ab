"""The public forms of the vote: the cédula of ¿Dónde voto?"""

from django import forms
from django.utils.translation import gettext_lazy as _

from communes.cedula import cedula_normalise


class WhereToVoteForm(forms.Form):
    cedula = forms.CharField(
        label=_("Cédula"),
        max_length=20,
        error_messages={"required": _("Enter a cédula, for example V-12345678.")},
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
        help_text=_("V or E and the number, for example V-12345678."),
    )

    def clean_cedula(self):
        return cedula_normalise(self.cleaned_data["cedula"])

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import Consultation
from .selectors import participating_communes
from .services import DATE_FIELDS, RULE_FIELDS

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
FUNDER_CHOICES = [("", _("— none —")), *Consultation.Funder.choices]


class ConsultationForm(forms.ModelForm):
    """A round's name, dates and rules; the funders of each winning rank as plain choices."""

    funder_rank_1 = forms.ChoiceField(
        label=_("Funder of rank 1"), choices=Consultation.Funder.choices
    )
    funder_rank_2 = forms.ChoiceField(
        label=_("Funder of rank 2"), choices=FUNDER_CHOICES, required=False
    )
    funder_rank_3 = forms.ChoiceField(
        label=_("Funder of rank 3"), choices=FUNDER_CHOICES, required=False
    )

    class Meta:
        model = Consultation
        # The name, the phase dates and every rule but the funders (chosen rank by rank below).
        fields = [
            "name",
            *DATE_FIELDS,
            *[name for name in RULE_FIELDS if name != "funder_by_rank"],
            # Asked only of a round without commissioners (k = 0): see _single_key.
            "single_key_reason",
        ]
        widgets = {
            "assemblies_open_at": DATETIME,
            "validation_opens_at": DATETIME,
            "voting_opens_at": DATETIME,
            "voting_closes_at": DATETIME,
            "tally_deadline_at": DATETIME,
            "voting_hours_start": TIME,
            "voting_hours_end": TIME,
            "single_key_reason": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, frozen_fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        funders = list(self.instance.funder_by_rank or [])
        for rank in (1, 2, 3):
            self.fields[f"funder_rank_{rank}"].initial = (
                funders[rank - 1] if len(funders) >= rank else ""
            )
        for name in frozen_fields:
            if name in self.fields:
                self.fields[name].disabled = True
        if "funder_by_rank" in frozen_fields:
            for rank in (1, 2, 3):
                self.fields[f"funder_rank_{rank}"].disabled = True
        if not self._single_key():
            del self.fields["single_key_reason"]

    def _single_key(self) -> bool:
        """Is the round (as saved, or as this form sends it) one without commissioners, whose
        key the server alone would hold? Only then is the reason for it asked."""
        needed = self.fields["key_shares_needed"]
        if self.is_bound and not needed.disabled:
            return str(self.data.get(self.add_prefix("key_shares_needed"), "")).strip() == "0"
        return self.instance.key_shares_needed == 0

    def clean(self):
        cleaned = super().clean()
        funders = [cleaned.get(f"funder_rank_{rank}") for rank in (1, 2, 3)]
        funders = [funder for funder in funders if funder]
        winners = cleaned.get("winners_per_commune")
        if winners is not None and len(funders) != winners:
            raise ValidationError(
                _("Choose one funder for each of the %(count)d winning ranks, no more.")
                % {"count": winners}
            )
        cleaned["funder_by_rank"] = funders
        return cleaned

    def changes(self) -> dict:
        names = [*self.Meta.fields, "funder_by_rank"]
        return {name: self.cleaned_data[name] for name in names if name in self.cleaned_data}


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ExclusionForm(forms.Form):
    commune = forms.ModelChoiceField(
        label=_("Commune (registry code)"),
        queryset=None,
        to_field_name="code",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"invalid_choice": _("There is no active commune with that registry code.")},
    )
    reason = forms.CharField(label=_("Reason"), max_length=1000)

    def __init__(self, *args, consultation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["commune"].queryset = participating_communes(consultation)


class CommissionerAppointForm(forms.Form):
    """An electoral commissioner of a round: a person with an account, and their number."""

    email = forms.EmailField(label=_("Email of the person's account"), max_length=254)
    index = forms.IntegerField(label=_("Commissioner number"), min_value=1, max_value=10)

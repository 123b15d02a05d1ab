from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .cedula import cedula_normalise
from .models import Commune, Municipality, State


class TerritoryFilterForm(forms.Form):
    """A state and, once a state is chosen, one of its municipalities; both optional."""

    state = forms.ModelChoiceField(
        label=_("State"),
        queryset=State.objects.order_by("name"),
        to_field_name="code",
        required=False,
        empty_label=_("All states"),
    )
    municipality = forms.ModelChoiceField(
        label=_("Municipality"),
        queryset=Municipality.objects.none(),
        to_field_name="code",
        required=False,
        empty_label=_("All municipalities"),
    )

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        state_code = (data or {}).get("state") or ""
        municipality_field = self.fields["municipality"]
        if state_code:
            municipality_field.queryset = Municipality.objects.filter(
                state__code=state_code
            ).order_by("name")
        else:
            municipality_field.disabled = True
            municipality_field.help_text = _("Choose a state first.")

    def clean(self):
        cleaned = super().clean()
        state, municipality = cleaned.get("state"), cleaned.get("municipality")
        if municipality is not None and state is not None and municipality.state_id != state.pk:
            cleaned["municipality"] = None
        return cleaned


class CommuneFilterForm(TerritoryFilterForm):
    """The directory's search and filters; every field is optional."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("Name, code or parish"),
                "autocomplete": "off",
            }
        ),
    )
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[("", _("Communes and circuits")), *Commune.Kind.choices],
        required=False,
    )
    per_page = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=settings.DIRECTORY_MAX_PAGE_SIZE,
        widget=forms.HiddenInput,
    )
    field_order = ["q", "state", "municipality", "kind", "per_page"]


class CensusClaimForm(forms.Form):
    cedula = forms.CharField(
        label=_("Cédula"),
        max_length=20,
        help_text=_("V or E followed by the number, for example V-12345678."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )
    birth_date = forms.DateField(
        label=_("Birth date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean_cedula(self):
        return cedula_normalise(self.cleaned_data["cedula"])

    def clean_birth_date(self):
        birth_date = self.cleaned_data["birth_date"]
        if birth_date > timezone.localdate():
            raise ValidationError(_("The birth date cannot be in the future."))
        return birth_date


class ClaimDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Verify")), ("reject", _("Reject"))])
    reason = forms.CharField(
        label=_("Reason for rejection"),
        required=False,
        max_length=500,
        widget=forms.TextInput(),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == "reject" and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", _("Say why the claim is rejected."))
        return cleaned

"""Forms of the voting tables: the officer's lookup and sheet, staff's decision, the admin's."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from communes.cedula import cedula_normalise

from .models import VotingTable


class LookupForm(forms.Form):
    cedula = forms.CharField(
        label=_("Cédula"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
        help_text=_("As on the voter's ID card, for example V-12345678."),
    )

    def clean_cedula(self):
        return cedula_normalise(self.cleaned_data["cedula"])


class TallySheetForm(forms.Form):
    """One line per project of the commune's ballot, then blank and null ballots, and the scan."""

    blank = forms.IntegerField(label=_("Blank ballots"), min_value=0, max_value=100_000)
    null = forms.IntegerField(label=_("Null ballots"), min_value=0, max_value=100_000)
    scan = forms.FileField(
        label=_("Photo or scan of the signed sheet"),
        help_text=_("A photo (JPEG or PNG) or a PDF, up to 10 MB."),
    )

    def __init__(self, *args, projects, **kwargs):
        super().__init__(*args, **kwargs)
        self.projects = projects
        lines = {
            f"project_{project.pk}": forms.IntegerField(
                label=project.title, min_value=0, max_value=100_000
            )
            for project in projects
        }
        self.fields = {**lines, **self.fields}

    def project_fields(self):
        return [self[f"project_{project.pk}"] for project in self.projects]

    def votes(self) -> dict[str, int]:
        return {
            str(project.pk): self.cleaned_data[f"project_{project.pk}"] for project in self.projects
        }


class DecisionForm(forms.Form):
    """Staff's decision on a sheet: whose figures to accept (or typed ones), or annul it."""

    decision = forms.ChoiceField(
        label=_("Decision"),
        widget=forms.RadioSelect,
        choices=[],
    )
    reason = forms.CharField(
        label=_("Reason (published with the sheet)"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, entries, projects, **kwargs):
        super().__init__(*args, **kwargs)
        self.projects = projects
        choices = [
            (f"entry_{entry.pk}", _("Accept entry %(n)d") % {"n": n})
            for n, entry in enumerate(entries, start=1)
        ]
        choices += [("typed", _("Accept the figures typed below")), ("annul", _("Annul the sheet"))]
        self.fields["decision"].choices = choices
        for project in projects:
            self.fields[f"project_{project.pk}"] = forms.IntegerField(
                label=project.title, min_value=0, max_value=100_000, required=False
            )
        self.fields["blank"] = forms.IntegerField(
            label=_("Blank ballots"), min_value=0, max_value=100_000, required=False
        )
        self.fields["null"] = forms.IntegerField(
            label=_("Null ballots"), min_value=0, max_value=100_000, required=False
        )

    def project_fields(self):
        return [self[f"project_{project.pk}"] for project in self.projects]

    def clean(self):
        data = super().clean()
        if data.get("decision") == "typed":
            names = [f"project_{project.pk}" for project in self.projects] + ["blank", "null"]
            if any(data.get(name) is None for name in names):
                raise ValidationError(_("To accept typed figures, fill in every line."))
        return data

    def arguments(self) -> dict:
        """The keyword arguments of tally_decide this form stands for."""
        data = self.cleaned_data
        decision = data["decision"]
        if decision == "annul":
            return {"decision": "annul"}
        if decision.startswith("entry_"):
            return {"decision": "accept", "entry_id": int(decision.removeprefix("entry_"))}
        return {
            "decision": "accept",
            "votes": {str(p.pk): data[f"project_{p.pk}"] for p in self.projects},
            "blank": data["blank"],
            "null": data["null"],
        }


class AssignForm(forms.Form):
    table = forms.CharField(label=_("Table code"), max_length=30)
    email = forms.EmailField(label=_("Officer's email"))

    def clean_table(self):
        code = self.cleaned_data["table"].strip().upper()
        table = VotingTable.objects.select_related("commune").filter(code=code).first()
        if table is None:
            raise ValidationError(
                _("No voting table has the code %(code)s."), params={"code": code}
            )
        return table

    def clean_email(self):
        email = self.cleaned_data["email"]
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise ValidationError(
                _("Nobody has an account with that email; ask them to sign up first.")
            )
        return user


class ImportForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What the file holds"),
        choices=[("centres", _("Voting centres")), ("tables", _("Voting tables"))],
    )
    file = forms.FileField(label=_("CSV file (UTF-8)"))
    skip_invalid = forms.BooleanField(
        label=_("Import the valid rows even if some are wrong"), required=False
    )

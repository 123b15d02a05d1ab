from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from communes.forms import TerritoryFilterForm
from communes.models import CommunalCouncil

from .models import Assembly, Problem, Project
from .services import EDITABLE_PROJECT_FIELDS


class AssemblyForm(forms.Form):
    held_on = forms.DateField(
        label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    place = forms.CharField(label=_("Place"), max_length=200)
    councils = forms.ModelMultipleChoiceField(
        label=_("Councils convened"),
        queryset=CommunalCouncil.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    call = forms.ChoiceField(label=_("Call"), choices=Assembly.Call.choices)
    attendance = forms.IntegerField(label=_("Attendance"), min_value=1, max_value=100_000)
    attendee_cedulas = forms.CharField(
        label=_("Cédulas of attendees (optional, one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    minutes = forms.FileField(
        label=_("Signed minutes (PDF, JPEG or PNG, at most 10 MB)"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"}),
    )

    def __init__(self, *args, commune, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["councils"].queryset = commune.councils.order_by("name")
        self.fields["held_on"].initial = timezone.localdate()


class ProblemForm(forms.Form):
    title = forms.CharField(label=_("Problem named by the assembly"), max_length=200)


class NewProjectForm(forms.Form):
    title = forms.CharField(label=_("Title of the new proposal"), max_length=200)


class ProjectForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Project
        fields = EDITABLE_PROJECT_FIELDS
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        project = self.instance
        self.fields["problem"].queryset = Problem.objects.filter(
            assembly__consultation=project.consultation_id,
            assembly__commune=project.commune_id,
            assembly__quorum_reached=True,
        )
        self.fields["version"].initial = project.version
        self.fields["estimated_cost_usd"].widget.attrs.update(
            {"min": "1", "max": str(project.consultation.amount_usd), "step": "0.01"}
        )
        for field in self.fields.values():
            field.required = False  # autosave saves one field at a time; submitting checks all

    def changes(self) -> dict:
        return {
            name: self.cleaned_data[name] for name in self.Meta.fields if name in self.changed_data
        }


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", _("Approve")), ("reject", _("Reject")), ("send_back", _("Send back"))]
    )
    note = forms.CharField(label=_("Reason or note"), max_length=1000, required=False)


class QueueFilterForm(TerritoryFilterForm):
    category = forms.ChoiceField(
        label=_("Category"),
        choices=[("", _("All categories")), *Project.Category.choices],
        required=False,
    )
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[
            ("submitted", _("Waiting for a decision")),
            *[(value, label) for value, label in Project.Status.choices if value != "submitted"],
        ],
        required=False,
    )

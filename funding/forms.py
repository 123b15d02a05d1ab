"""Forms of the money pages: they parse what people type; the services decide what is allowed.

Amounts are read as text and handed to the service, whose ``money()`` says what is wrong with a
malformed one ("1.500,00", "-3", "abc") in the user's language.
"""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import ClosingReport, FundingSource, ProjectStatus, SpendingReceipt

FILE_TYPES = "application/pdf,image/jpeg,image/png"
PICTURE_TYPES = "image/jpeg,image/png"


def _date_input():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _amount_field():
    return forms.CharField(
        label=_("Amount (USD)"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text=_("In dollars, with at most two decimals, for example 1500.00."),
    )


def _text(label, *, required=True, rows=3, max_length=5000, help_text=""):
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


class OwnIds:
    """Several of these forms share a page: each names its inputs' ids after itself, so no two
    fields (both "amount", say) share an id and every label points at its own input."""

    id_prefix = ""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


# The commune's side ------------------------------------------------------------------------


class DisbursementRequestForm(OwnIds, forms.Form):
    id_prefix = "request"

    allocation = forms.ModelChoiceField(label=_("From which allocation"), queryset=None)
    amount = _amount_field()
    purpose = _text(_("What the money is for"), max_length=2000)

    def __init__(self, *args, allocations, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["allocation"]
        field.queryset = allocations
        field.label_from_instance = lambda allocation: (
            str(allocation.source)
            if allocation.kind == allocation.Kind.ALLOCATION
            else f"{allocation.source} · {allocation.get_kind_display()}"
        )
        if len(allocations) == 1:
            field.initial = allocations[0].pk


class ReceiptForm(OwnIds, forms.Form):
    id_prefix = "receipt"

    file = forms.FileField(
        label=_("Receipt (PDF, JPEG or PNG, at most 10 MB)"),
        help_text=_("It is published with the project: cover personal data that is not needed."),
        widget=forms.ClearableFileInput(attrs={"accept": FILE_TYPES}),
    )
    supplier = forms.CharField(label=_("Supplier"), max_length=200)
    spent_on = forms.DateField(label=_("Date of the receipt"), widget=_date_input())
    amount = _amount_field()
    category = forms.ChoiceField(label=_("Category"), choices=SpendingReceipt.Category.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["spent_on"].initial = timezone.localdate()


class MultiplePicturesInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePicturesField(forms.FileField):
    """Up to five photos in one input; each is checked by its content when it is stored."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget", MultiplePicturesInput(attrs={"accept": PICTURE_TYPES, "multiple": True})
        )
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultiplePicturesField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)] if data else []


class ProgressForm(OwnIds, forms.Form):
    id_prefix = "progress"

    percent = forms.IntegerField(label=_("Percent complete"), min_value=0, max_value=100)
    status = forms.ChoiceField(label=_("Status"), choices=ProjectStatus.choices)
    text = _text(_("What was done since the last update"), rows=4)
    stalled_reason = _text(_("Why it is stalled (only if it is)"), required=False, rows=2)
    photos = MultiplePicturesField(
        label=_("Photos (JPEG or PNG, up to 5, at most 10 MB each)"),
        help_text=_("Their location data is removed before they are published."),
        required=False,
    )


class ClosingReportForm(OwnIds, forms.Form):
    id_prefix = "closing"

    text = _text(_("Closing report"), rows=6, max_length=20000)
    assembly_held_on = forms.DateField(
        label=_("Date of the assembly that approved it"), widget=_date_input()
    )
    minutes = forms.FileField(
        label=_("Minutes of that assembly (PDF, JPEG or PNG, at most 10 MB)"),
        widget=forms.ClearableFileInput(attrs={"accept": FILE_TYPES}),
    )


class FlagForm(forms.Form):
    """Social oversight questions one receipt or one progress update (the hidden field says
    which)."""

    receipt = forms.IntegerField(required=False, widget=forms.HiddenInput)
    update = forms.IntegerField(required=False, widget=forms.HiddenInput)
    comment = _text(_("What should be checked"), max_length=5000)

    def clean(self):
        data = super().clean()
        if bool(data.get("receipt")) == bool(data.get("update")):
            raise forms.ValidationError(_("Choose one receipt or one update to flag."))
        return data


# The payers' side -------------------------------------------------------------------------


class RejectForm(OwnIds, forms.Form):
    id_prefix = "reject"

    reason = _text(_("Why it is rejected (the commune reads it)"), max_length=2000)


class TransferForm(OwnIds, forms.Form):
    id_prefix = "transfer"

    transferred_on = forms.DateField(label=_("Date of the transfer"), widget=_date_input())
    bank_reference = forms.CharField(label=_("Bank reference"), max_length=60)
    rate_ves_per_usd = forms.CharField(
        label=_("Official rate of that date (VES per USD)"),
        max_length=24,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text=_("The Central Bank's rate, for example 36.5; the bolívar amount is computed."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["transferred_on"].initial = timezone.localdate()


class PledgeForm(OwnIds, forms.Form):
    id_prefix = "pledge"

    source = forms.ModelChoiceField(label=_("Funder"), queryset=FundingSource.objects.none())
    amount = _amount_field()
    reason = _text(_("Why this money is pledged (published)"), max_length=2000)

    def __init__(self, *args, sources, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = sources
        if len(sources) == 1:
            self.fields["source"].initial = sources[0].pk


class PledgeSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Commune (code or name)"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"type": "search"}),
    )


class FlagAnswerForm(forms.Form):
    answer = _text(_("Answer (published with the flag)"), max_length=5000)


class ClosingDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        widget=forms.RadioSelect,
        choices=[
            (ClosingReport.Status.ACCEPTED, _("Accept the report")),
            (ClosingReport.Status.RETURNED, _("Return it for changes")),
        ],
    )
    note = _text(_("Note (required to return it)"), required=False, rows=2, max_length=2000)


class ReverseForm(forms.Form):
    reason = _text(_("Why it is reversed (published)"), rows=2, max_length=2000)

from django.shortcuts import render

from communes.selectors import registry_figures
from consultations.selectors import consultation_current, consultation_timeline


def home(request):
    """The public home: what this is, the round under way, and the registry in figures."""
    current = consultation_current()
    return render(
        request,
        "home.html",
        {
            "figures": registry_figures(),
            "current": current,
            "timeline": current and consultation_timeline(consultation=current),
        },
    )

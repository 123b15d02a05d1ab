from django.conf import settings
from django.http import FileResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control

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


@cache_control(public=True, max_age=7 * 24 * 60 * 60)
def favicon(request):
    """/favicon.ico, which browsers ask for whatever the page says (and for files that are not
    pages): the same icon as the pages' own link to the static file."""
    return FileResponse(
        (settings.BASE_DIR / "static" / "favicon.ico").open("rb"), content_type="image/x-icon"
    )

"""When the database is away for a moment (a restart, a failover), answer "try again" clearly.

Django's handler for uncaught errors, extended: an error reaching the database (from a view or
from a middleware, such as the one that loads the signed-in user) gets a 503 page in the
visitor's language with a Retry-After header, never a traceback; anything else gets the usual
500 page. Django closes the broken connection when the request ends, so the next request connects
afresh and the site serves again as soon as the database is back.
"""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.defaults import server_error as default_server_error

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


def server_error(request, *args, **kwargs):
    error = sys.exc_info()[1]
    if not isinstance(error, OperationalError | InterfaceError):
        return default_server_error(request, *args, **kwargs)
    logger.warning("Database unavailable: %s", type(error).__name__)
    message = _(
        "The service is unavailable for a moment. Please try again in a few seconds; if you "
        "were voting, you will be told whether your vote was already recorded."
    )
    if "application/json" in request.headers.get("Accept", ""):
        response = JsonResponse({"outcome": "unavailable", "message": message}, status=503)
    else:
        response = HttpResponse(render_to_string("503.html", {"message": message}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response

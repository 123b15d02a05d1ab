"""An electoral commissioner's own page: their number, the step they are at with the command to
run on their own machine, the files to download and the uploads of each step.

The pages live in the cycle app, not in voting: the key share's and the partial decryptions'
uploads go through ``cycle.services`` (which queues the count once k commissioners are in), and
voting may not import the cycle above it (the layers contract).

A key share uploaded here is read into memory, used for this request's partial decryptions and
dropped: never written to the database, the cache, the session, a message or a log.
"""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from accounts import permissions
from consultations.models import Consultation
from voting import commissioners

from . import services

KB = 1024
# The largest file each step takes: a public keys file and a key share are a few hundred bytes;
# a contribution grows with the commissioners and slots (10 of 10, 7 slots: 8.4 KB); the partial
# decryptions of every commune of the nation about 6 MB.
UPLOADS = {
    "keys": 64 * KB,
    "contribution": 2 * KB * KB,
    "partials": settings.UPLOAD_MAX_BYTES,
    "share": 64 * KB,
}
# What each file is called on the commissioner's machine: the page's commands name them so.
DOWNLOADS = {"ceremony": "ceremonia", "contributions": "contribuciones", "sums": "sumas"}


def _round_of_commissioner(request, pk):
    consultation = get_object_or_404(Consultation, pk=pk)
    permissions.require(request.user, "voting.act_as_commissioner", consultation)
    return consultation, commissioners.seat_of(consultation, request.user)


@login_required
@never_cache
def commissioner_page(request, pk):
    consultation, seat = _round_of_commissioner(request, pk)
    progress = commissioners.commissioner_progress(consultation, seat)
    return render(
        request,
        "cycle/commissioner.html",
        {"consultation": consultation, "seat": seat, "progress": progress},
    )


@login_required
@never_cache
def commissioner_download(request, pk, what):
    """The ceremony (once all n gave their keys), everyone's contributions (once all are in), or
    the summed encryptions (once voting closed and the urn was summed), as the tool reads them."""
    if what not in DOWNLOADS:
        raise Http404
    consultation, _seat = _round_of_commissioner(request, pk)
    if what == "ceremony":
        ceremony = commissioners.ceremony_of(consultation)
        document = ceremony.to_json() if ceremony is not None else None
    elif what == "contributions":
        document = commissioners.contributions_document(consultation)
    else:
        document = commissioners.sums_document(consultation)
    if document is None:
        messages.error(request, _("That file is not ready yet: see the step you are at."))
        return redirect("cycle:commissioner", pk=pk)
    response = JsonResponse(document, json_dumps_params={"indent": 1, "sort_keys": True})
    filename = f"{DOWNLOADS[what]}-{consultation.pk}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class UploadRefused(Exception):
    pass


@sensitive_variables("content")
def _read_json(upload, limit: int):
    """The uploaded file as JSON, or UploadRefused with the reason in the user's words."""
    if upload is None:
        raise UploadRefused(_("Choose the file to upload."))
    if upload.size > limit:
        raise UploadRefused(
            _("The file is too large for this step (at most %(kb)d KB): is it the right file?")
            % {"kb": limit // KB}
        )
    content = upload.read(limit + 1)
    try:
        return json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise UploadRefused(
            _("The file is not JSON as the commissioner's tool writes it: nothing was saved.")
        ) from error


@sensitive_variables("data")
def _use(consultation, by, what: str, data):
    if what == "keys":
        commissioners.commissioner_keys_add(consultation=consultation, by=by, data=data)
        return _("Your public keys were saved.")
    if what == "contribution":
        commissioners.commissioner_contribution_add(consultation=consultation, by=by, data=data)
        return _("Your contribution was checked and saved.")
    if what == "partials":
        done = services.round_partials_add(consultation=consultation, by=by, data=data)
    else:
        done = services.round_share_decrypt(consultation=consultation, by=by, data=data)
    return _("Your partial decryptions were checked and saved: %(done)d communes decrypted.") % {
        "done": done
    }


@login_required
@require_POST
@sensitive_post_parameters()
@sensitive_variables("data")
def commissioner_upload(request, pk):
    consultation, _seat = _round_of_commissioner(request, pk)
    what = request.POST.get("what", "")
    if what not in UPLOADS:
        messages.error(request, _("Choose what you are uploading."))
        return redirect("cycle:commissioner", pk=pk)
    try:
        data = _read_json(request.FILES.get("file"), UPLOADS[what])
        done = _use(consultation, request.user, what, data)
    except UploadRefused as refusal:
        messages.error(request, str(refusal))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, done)
    finally:
        data = None  # a key share leaves this request's memory with it
    return redirect("cycle:commissioner", pk=pk)

"""Uploaded files: checked by their content (never their name), stripped of metadata, stored
under random names outside the static root, and served only through a view that asks
``accounts.permissions``."""

import io
import uuid
import warnings

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

PDF, JPEG, PNG = "pdf", "jpeg", "png"
ALL_KINDS = (PDF, JPEG, PNG)
PICTURES = (JPEG, PNG)
CONTENT_TYPES = {PDF: "application/pdf", JPEG: "image/jpeg", PNG: "image/png"}
_SIGNATURES = {PDF: b"%PDF-", JPEG: b"\xff\xd8\xff", PNG: b"\x89PNG\r\n\x1a\n"}
# A photo of a signed sheet needs far fewer pixels; more is a decompression bomb.
MAX_IMAGE_PIXELS = 40_000_000


def _kind_of(head: bytes) -> str | None:
    for kind, signature in _SIGNATURES.items():
        if head.startswith(signature):
            return kind
    return None


def _clean_image(data: bytes, kind: str) -> bytes:
    """Re-encode the picture: what comes out has its pixels and nothing else (no EXIF, no GPS)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as probe:
                if probe.width * probe.height > MAX_IMAGE_PIXELS:
                    raise ValidationError(_("The picture is too large in pixels."), code="bomb")
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image = ImageOps.exif_transpose(image)  # keep the orientation the camera meant
                out = io.BytesIO()
                if kind == JPEG:
                    image.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
                else:
                    image.save(out, "PNG", optimize=True)
                return out.getvalue()
        except ValidationError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            # Pillow's own limit, met in the header (before any pixel is decoded).
            raise ValidationError(_("The picture is too large in pixels."), code="bomb") from exc
        except Exception as exc:
            # Crafted pictures make Pillow raise many kinds of error (UnidentifiedImageError,
            # OSError, SyntaxError, EOFError, struct.error; a text chunk that inflates past its
            # limit is a ValueError): whichever it is, the picture cannot be read.
            raise ValidationError(
                _("The picture is damaged or is not really a %(kind)s.") % {"kind": kind.upper()},
                code="damaged",
            ) from exc


def upload_check(uploaded, *, allowed=ALL_KINDS, max_bytes=None) -> tuple[str, bytes]:
    """Return (kind, clean content) of an upload, or raise ValidationError saying what is wrong."""
    max_bytes = max_bytes or settings.UPLOAD_MAX_BYTES
    if uploaded.size > max_bytes:
        raise ValidationError(
            _("The file weighs %(size).1f MB; the most allowed is %(max).0f MB.")
            % {"size": uploaded.size / 1_000_000, "max": max_bytes / 1_000_000},
            code="too_big",
        )
    data = uploaded.read(max_bytes + 1)
    kind = _kind_of(data[:16])
    if kind is None or kind not in allowed:
        raise ValidationError(
            _("The file is not a %(kinds)s, whatever its name says.")
            % {"kinds": ", ".join(k.upper() for k in allowed)},
            code="wrong_kind",
        )
    if kind == PDF:
        if b"%%EOF" not in data[-2048:]:
            raise ValidationError(_("The PDF is incomplete or damaged."), code="damaged")
        return kind, data
    return kind, _clean_image(data, kind)


def storage_name(kind: str) -> str:
    """A random name that says nothing about the file or who sent it."""
    extension = {PDF: "pdf", JPEG: "jpg", PNG: "png"}[kind]
    return f"private/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{extension}"

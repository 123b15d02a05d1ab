"""Uploads that try to hurt: decompression bombs, files that lie about their kind, damaged
pictures, and every mutation of a real picture or PDF hypothesis can make. The upload checks
(communes/files.py) answer each with a clear ValidationError, never anything else.

Decompression bombs in pictures are refused from the header, before a pixel is decoded: Pillow
reads the declared width and height first, and we refuse above MAX_IMAGE_PIXELS (Pillow's own
DecompressionBombError, which it raises at twice its limit, gets the same message). A zip or a
PDF bomb is harmless here: we never decompress either. A zip is refused by its first bytes (it is
not a PDF, JPEG or PNG), and a PDF is stored exactly as sent after its header and trailer are
checked; nothing on the server opens its streams.
"""

import io
import struct
import zlib
from pathlib import PurePosixPath

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from communes import files
from communes.models import CommuneFile

from ..builders import jpeg_with_gps, png_with_text, tiny_pdf
from . import fuzz


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int, *, extra_chunks: bytes = b"") -> bytes:
    """A PNG whose header declares ``width`` by ``height`` pixels, with one row of data: a few
    hundred bytes that would decode to width * height * 3 bytes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = zlib.compress(b"\x00" + b"\x00" * (3 * min(width, 1000)))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + extra_chunks
        + _chunk(b"IDAT", row)
        + _chunk(b"IEND", b"")
    )


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real 8-pixel-square JPEG, its frame header rewritten to declare ``width`` by ``height``."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(out, "JPEG")
    data = bytearray(out.getvalue())
    frame = data.index(b"\xff\xc0")
    data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def check(data: bytes, name="foto.png"):
    return files.upload_check(SimpleUploadedFile(name, data))


@pytest.mark.parametrize(
    ("label", "data"),
    [
        # 400 million pixels: past twice Pillow's limit (its DecompressionBombError).
        ("png 20000x20000", png_declaring(20_000, 20_000)),
        # 100 million: past Pillow's warning, under its error.
        ("png 10000x10000", png_declaring(10_000, 10_000)),
        # 64 million: under Pillow's limits, past ours.
        ("png 8000x8000", png_declaring(8_000, 8_000)),
        ("jpeg 65000x65000", jpeg_declaring(65_000, 65_000)),
        ("jpeg 9000x9000", jpeg_declaring(9_000, 9_000)),
    ],
)
def test_a_picture_declaring_too_many_pixels_is_refused_from_its_header(label, data):
    with pytest.raises(ValidationError) as refused:
        check(data)
    assert refused.value.code == "bomb", label
    assert len(data) < 2000  # the bomb is small: what it declares is not


def test_a_png_with_a_compressed_text_bomb_is_refused_cleanly():
    """A zTXt chunk that inflates to 50 MB of metadata: Pillow stops at its text limit."""
    bomb = zlib.compress(b"\x00" * 50_000_000, 9)
    chunk = _chunk(b"zTXt", b"Comment\x00\x00" + bomb)
    with pytest.raises(ValidationError) as refused:
        check(png_declaring(8, 8, extra_chunks=chunk))
    assert refused.value.code in ("bomb", "damaged")


def test_zip_and_pdf_bombs_are_never_decompressed():
    """A zip is refused by its first bytes; a PDF whose stream inflates to 200 MB is kept exactly
    as sent (we check its header and trailer only, and never open its streams)."""
    with pytest.raises(ValidationError) as refused:
        check(b"PK\x03\x04" + zlib.compress(b"\x00" * 1_000_000), "informe.pdf")
    assert refused.value.code == "wrong_kind"
    squeezed = zlib.compressobj(9)
    stream = b"".join(squeezed.compress(b"\x00" * 10_000_000) for _ in range(20))
    stream += squeezed.flush()
    pdf = (
        b"%PDF-1.4\n1 0 obj<</Length "
        + str(len(stream)).encode()
        + b"/Filter/FlateDecode>>stream\n"
        + stream
        + b"\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )
    kind, kept = check(pdf, "acta.pdf")
    assert kind == files.PDF and kept == pdf


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(settings):
    class Unread:
        """An upload of 1 GB that fails the test if anything reads it."""

        name = "acta.pdf"
        size = 1024**3

        def read(self, *args):
            raise AssertionError("the file was read")

    with pytest.raises(ValidationError) as refused:
        files.upload_check(Unread())
    assert refused.value.code == "too_big"


def _mutations(original: bytes):
    """Bit flips, cuts, insertions and overwrites of a real file."""
    size = len(original)
    flip = st.tuples(st.integers(0, size - 1), st.integers(1, 255)).map(
        lambda at: original[: at[0]] + bytes([original[at[0]] ^ at[1]]) + original[at[0] + 1 :]
    )
    cut = st.integers(1, size).map(lambda at: original[:at])
    insert = st.tuples(st.integers(0, size), st.binary(min_size=1, max_size=64)).map(
        lambda at: original[: at[0]] + at[1] + original[at[0] :]
    )
    overwrite = st.tuples(st.integers(0, size - 1), st.binary(min_size=1, max_size=32)).map(
        lambda at: original[: at[0]] + at[1] + original[at[0] + len(at[1]) :]
    )
    return st.one_of(flip, cut, insert, overwrite)


ORIGINALS = [fuzz.png(), jpeg_with_gps(), png_with_text(), tiny_pdf()]


@fuzz.run_settings(300)
@given(data=st.sampled_from(ORIGINALS).flatmap(_mutations), name=fuzz.any_text)
def test_a_damaged_file_gets_a_clear_refusal_or_is_cleaned_never_an_error(data, name):
    # A name reaches the app as the multipart parser leaves it: a base name, never "/" or "..";
    # Django's own file object refuses anything else before our check would run.
    name = PurePosixPath(name.replace("\\", "/")).name
    if name in ("", ".", ".."):
        name = "x"
    try:
        kind, clean = files.upload_check(SimpleUploadedFile(name, data))
    except ValidationError as refused:
        assert refused.code in ("wrong_kind", "damaged", "bomb", "too_big")
        assert refused.messages
    else:
        assert kind in files.ALL_KINDS and clean


def test_a_bomb_sent_to_every_picture_form_is_refused_and_nothing_is_stored(world):
    """Through the pages: a project photo and a progress update's photos."""
    people = world["people"]
    bomb = fuzz.Upload("foto.png", png_declaring(20_000, 20_000), "image/png")
    client = Client()
    client.force_login(people["spokesperson_a_finance"])
    before = fuzz.fingerprint()
    project = world["money"]["project"]
    response = fuzz.send(
        client,
        "post",
        reverse("funding:progress-add", args=[project.pk]),
        {"percent": "40", "status": "in_progress", "text": "Avanza", "photos": [bomb, bomb]},
    )
    assert response.status_code == 422
    assert response.context["progress_form"].errors
    assert fuzz.wrote(before) == []
    client.force_login(people["spokesperson_a_executive"])
    photos = CommuneFile.objects.count()
    response = fuzz.send(
        client,
        "post",
        reverse("consultations:project-photo-add", args=[world["open_round"]["project"].pk]),
        {"photo": bomb},
    )
    assert response.status_code == 302
    assert CommuneFile.objects.count() == photos

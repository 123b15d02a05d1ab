"""Uploads are checked by content, cleaned of metadata, stored under random names, and served
only to whoever may see them."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import ExifTags, Image

from audit.models import AuditEntry
from communes.models import CommuneFile
from communes.services import commune_file_store

from ..builders import close_response, jpeg_with_gps, png_with_text, tiny_pdf


def upload(name, data):
    return SimpleUploadedFile(name, data)


def test_a_pdf_is_kept_under_a_random_name_outside_static(alice, commune_a, settings):
    stored = commune_file_store(
        commune=commune_a, uploaded=upload("Acta asamblea.pdf", tiny_pdf()), by=alice
    )
    assert stored.kind == CommuneFile.Kind.PDF
    assert stored.original_name == "Acta asamblea.pdf"
    assert "Acta" not in stored.file.name and stored.file.name.startswith("private/")
    path = stored.file.path
    assert path.startswith(str(settings.MEDIA_ROOT)) and not path.startswith(
        str(settings.STATIC_ROOT)
    )
    assert AuditEntry.objects.filter(action="commune_file.store", object_id=str(stored.pk)).exists()


def test_gps_and_camera_data_are_stripped_from_photos(alice, commune_a):
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    stored = commune_file_store(commune=commune_a, uploaded=upload("foto.jpg", original), by=alice)
    with stored.file.open("rb") as handle:
        cleaned = handle.read()
    assert len(Image.open(io.BytesIO(cleaned)).getexif()) == 0
    assert b"Exif" not in cleaned and "Teléfono".encode() not in cleaned


def test_text_chunks_are_stripped_from_png(alice, commune_a):
    stored = commune_file_store(
        commune=commune_a, uploaded=upload("p.png", png_with_text()), by=alice
    )
    with stored.file.open("rb") as handle:
        assert b"Location" not in handle.read()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("acta.pdf", b"MZ\x90\x00 a program, not a PDF" * 10, "diga lo que diga su nombre"),
        ("foto.jpg", b"<html><script>alert(1)</script></html>", "diga lo que diga su nombre"),
        ("acta.pdf", b"%PDF-1.4\n no end marker", "incompleto o dañado"),
        ("foto.jpg", b"\xff\xd8\xff\xe0 truncated jpeg", "dañada"),
    ],
)
def test_files_that_are_not_what_they_claim_are_refused(alice, commune_a, name, data, message):
    with pytest.raises(ValidationError) as raised:
        commune_file_store(commune=commune_a, uploaded=upload(name, data), by=alice)
    assert message in " ".join(raised.value.messages)
    assert not CommuneFile.objects.exists()


def test_an_upload_over_ten_megabytes_is_refused(alice, commune_a):
    big = tiny_pdf() + b"0" * (10 * 1024 * 1024)
    with pytest.raises(ValidationError, match="MB"):
        commune_file_store(commune=commune_a, uploaded=upload("big.pdf", big), by=alice)
    assert not CommuneFile.objects.exists()


def test_a_decompression_bomb_is_refused(alice, commune_a):
    out = io.BytesIO()
    Image.new("1", (8000, 8000)).save(out, "PNG")  # 64 Mpx in a few kB
    with pytest.raises(ValidationError, match="píxeles"):
        commune_file_store(commune=commune_a, uploaded=upload("bomb.png", out.getvalue()), by=alice)


def test_only_people_of_the_commune_may_upload(bob, commune_a):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        commune_file_store(commune=commune_a, uploaded=upload("a.pdf", tiny_pdf()), by=bob)


def test_a_private_file_is_served_to_its_commune_and_hidden_from_others(
    client, alice, bob, commune_a
):
    stored = commune_file_store(
        commune=commune_a, uploaded=upload("acta.pdf", tiny_pdf()), by=alice
    )
    url = reverse("communes:file-download", args=[stored.pk])
    assert client.get(url).status_code == 404
    client.force_login(bob)
    assert client.get(url).status_code == 404
    client.force_login(alice)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == tiny_pdf()
    close_response(response)


def test_a_public_file_is_served_to_everyone(client, alice, commune_a):
    stored = commune_file_store(
        commune=commune_a, uploaded=upload("acta.png", png_with_text()), by=alice, is_public=True
    )
    response = client.get(reverse("communes:file-download", args=[stored.pk]))
    close_response(response)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"


def test_a_file_name_with_html_cannot_inject_anything(client, alice, commune_a):
    stored = commune_file_store(
        commune=commune_a,
        uploaded=upload('"><script>alert(1)</script>.pdf', tiny_pdf()),
        by=alice,
        is_public=True,
    )
    response = client.get(reverse("communes:file-download", args=[stored.pk]))
    close_response(response)
    disposition = response["Content-Disposition"]
    assert "<script>" not in disposition.replace("%3Cscript%3E", "")
    assert response["Content-Type"] == "application/pdf"

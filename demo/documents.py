"""Stand-ins for the files people upload: the signed minutes and sheets (a tiny valid PDF) and
photos of the works (a tiny drawing)."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

# A tiny valid PDF standing in for scanned, signed minutes, tally sheets, invoices and reports.
MINUTES_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def pdf_upload(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, MINUTES_PDF, content_type="application/pdf")


def photo_upload(name: str, number: int) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, works_photo(number), content_type="image/png")


def works_photo(number: int) -> bytes:
    """A tiny picture standing in for a photo of the works: sky, ground and a building, taller
    with each number."""
    image = Image.new("RGB", (96, 64), (135, 190, 235))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 44, 95, 63), fill=(120, 100, 70))
    height = 10 + 6 * number
    draw.rectangle((24, 44 - height, 72, 44), fill=(200, 200, 190))
    draw.polygon([(20, 44 - height), (48, 30 - height), (76, 44 - height)], fill=(170, 60, 40))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()

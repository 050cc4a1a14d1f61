"""A preference page's branding: colours that keep WCAG AA contrast, and a logo that is decoded,
stripped of metadata, resized and re-encoded before it is stored."""

from __future__ import annotations

import io
import re
import uuid

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
AA_TEXT = 4.5  # WCAG 2.1 AA, normal text (1.4.3)
LOGO_MAX_BYTES = 2 * 1024 * 1024
LOGO_MAX_PIXELS = 25_000_000  # refused before decoding: a small file can claim a huge image
LOGO_BOX = (480, 160)  # the largest the page shows, at twice its CSS size
LOGO_FORMATS = {"PNG", "JPEG", "GIF", "WEBP"}


def _luminance(colour: str) -> float:
    """Relative luminance (WCAG 2.1): each sRGB channel linearised, then weighted."""
    channels = []
    for start in (1, 3, 5):
        value = int(colour[start:start + 2], 16) / 255
        channels.append(value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def colours_clean(background: str, text: str) -> tuple[str, str]:
    """Both colours or neither, as ``#rrggbb``, with at least 4.5:1 contrast; else ``ValidationError``."""
    background, text = (background or "").strip().lower(), (text or "").strip().lower()
    if not background and not text:
        return "", ""
    for name, colour in (("brand_background", background), ("brand_text", text)):
        if not COLOUR.fullmatch(colour):
            raise ValidationError({name: _("Give a colour as #rrggbb, or leave both colours empty.")})
    ratio = contrast_ratio(background, text)
    if ratio < AA_TEXT:
        raise ValidationError({"brand_text": _(
            "Text in %(text)s on %(background)s has a contrast of %(ratio).2f:1; WCAG AA needs at least 4.5:1. "
            "Choose a darker or lighter colour."
        ) % {"text": text, "background": background, "ratio": ratio}})
    return background, text


def logo_clean(upload) -> ContentFile:
    """The uploaded logo as a new PNG: the type is checked by decoding (never by name or header),
    the pixels are copied into a fresh image (no EXIF, ICC, text chunks or animation frames),
    and it is shrunk to fit ``LOGO_BOX``. Anything else raises ``ValidationError``."""
    refused = ValidationError({"logo": _("The logo must be a PNG, JPEG, GIF or WebP image of at most 2 MB.")})
    if upload.size > LOGO_MAX_BYTES:
        raise refused
    data = upload.read(LOGO_MAX_BYTES + 1)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in LOGO_FORMATS or probe.width * probe.height > LOGO_MAX_PIXELS:
                raise refused
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            pixels = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise refused from error
    clean = Image.new("RGBA", pixels.size)
    clean.paste(pixels)
    clean.thumbnail(LOGO_BOX)
    out = io.BytesIO()
    clean.save(out, format="PNG", optimize=True)
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.png")

"""Branding of a preference page: contrast, the logo's treatment, how both reach the contact."""

import datetime
import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from PIL import Image, ImageCms

from contacts.tests.factories import ContactFactory, UserFactory
from messaging import services
from messaging.branding import contrast_ratio
from messaging.models import PreferencePage

from .test_public_page import _no_rate_limit, delivered_send, page_url  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def staff():
    return UserFactory(is_superuser=True)


@pytest.fixture
def page(staff):
    page = services.page_create(acting_user=staff, name="Brand", default_language="en")
    services.page_version_save(page=page, acting_user=staff, language="en",
                               blocks=[{"kind": "heading", "text": "Hello"}, {"kind": "unsubscribe_all"}])
    return services.page_publish(page=page, acting_user=staff)


def brand(page, staff, **values):
    arguments = {"background": "", "text": "", "footer_text": "", **values}
    return services.page_brand_update(page=page, acting_user=staff, **arguments)


def image_file(name="logo.png", size=(1200, 900), fmt="PNG", **save) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format=fmt, **save)
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def test_contrast_ratio_follows_wcag():
    assert round(contrast_ratio("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast_ratio("#767676", "#ffffff"), 2) == 4.54
    assert contrast_ratio("#777777", "#ffffff") < 4.5


def test_colours_below_aa_contrast_are_refused_with_the_ratio_and_nothing_changes(page, staff):
    with pytest.raises(ValidationError) as refused:
        brand(page, staff, background="#ffffff", text="#777777", footer_text="1 Main Street")
    assert "has a contrast of 4.48:1; WCAG AA needs at least 4.5:1" in refused.value.message_dict["brand_text"][0]
    page.refresh_from_db()
    assert (page.brand_background, page.brand_text, page.footer_text) == ("", "", "")


def test_one_colour_alone_is_refused(page, staff):
    with pytest.raises(ValidationError) as refused:
        brand(page, staff, background="#ffffff")
    assert "brand_text" in refused.value.message_dict


def test_the_database_refuses_anything_but_hex_colours(page):
    with pytest.raises(IntegrityError), transaction.atomic():
        PreferencePage.objects.filter(pk=page.pk).update(brand_background="red;}x", brand_text="#ffffff")


def test_a_logo_is_re_encoded_as_a_small_png_without_its_metadata(page, staff):
    exif = Image.Exif()
    exif[0x010E] = "secret description"  # ImageDescription
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    page = brand(page, staff, logo=image_file("photo.jpg", fmt="JPEG", exif=exif.tobytes(), icc_profile=icc))
    with page.logo.open("rb") as stored, Image.open(stored) as logo:
        assert logo.format == "PNG" and logo.width <= 480 and logo.height <= 160
        assert "exif" not in logo.info and not logo.getexif() and "icc_profile" not in logo.info
    assert page.logo.name.startswith("page-logos/") and page.logo.name.endswith(".png")


@pytest.mark.parametrize("upload", [
    SimpleUploadedFile("logo.png", b"<svg onload=alert(1)></svg>", content_type="image/png"),
    SimpleUploadedFile("logo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, content_type="image/png"),
])
def test_what_does_not_decode_as_an_image_is_refused(page, staff, upload):
    with pytest.raises(ValidationError) as refused:
        brand(page, staff, logo=upload)
    assert "The logo must be a PNG, JPEG, GIF or WebP image" in refused.value.message_dict["logo"][0]
    page.refresh_from_db()
    assert not page.logo


def test_an_image_claiming_too_many_pixels_is_refused_before_decoding(page, staff):
    out = io.BytesIO()
    Image.new("1", (10_000, 3_000)).save(out, format="PNG")  # 30 megapixels in a few kilobytes
    with pytest.raises(ValidationError):
        brand(page, staff, logo=SimpleUploadedFile("big.png", out.getvalue()))


def test_the_contact_sees_the_logo_colours_and_footer_from_this_site(client, page, staff):
    brand(page, staff, background="#1f2d3d", text="#ffffff", footer_text="Shop Ltd\n1 Main Street, Paris",
          logo=image_file())
    html = client.get(page_url(delivered_send(ContactFactory(), preference_page=page))).content.decode()
    assert f'src="/messaging/page-logo/{page.pk}.png?v=' in html
    assert f'href="/messaging/page-style/{page.pk}.css?v=' in html
    assert "Shop Ltd<br>1 Main Street, Paris" in html

    logo = client.get(f"/messaging/page-logo/{page.pk}.png")
    assert logo["Content-Type"] == "image/png" and logo["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(logo.content)).format == "PNG"
    style = client.get(f"/messaging/page-style/{page.pk}.css")
    assert style["Content-Type"].startswith("text/css")
    assert style.content.decode().startswith(".public-header { background: #1f2d3d; color: #ffffff; }")


def test_a_page_without_a_logo_serves_none(client, page):
    assert client.get(f"/messaging/page-logo/{page.pk}.png").status_code == 404
    assert client.get("/messaging/page-logo/999999.png").status_code == 404


def test_the_branding_form_shows_the_contrast_message(client, page, staff):
    client.force_login(staff)
    response = client.post(f"/messaging/pages/{page.pk}/brand/",
                           {"brand_background": "#ffffff", "brand_text": "#eeeeee", "footer_text": ""})
    assert response.status_code == 200
    assert "WCAG AA needs at least 4.5:1" in response.content.decode()


@pytest.mark.parametrize("name", ["notes.png", "page-logos/../notes.png", "page-logos/notes.txt"])
def test_only_a_file_the_upload_wrote_is_ever_served_as_a_logo(client, page, settings, name):
    (settings.MEDIA_ROOT / "notes.png").write_bytes(b"private")
    (settings.MEDIA_ROOT / "page-logos").mkdir(exist_ok=True)
    (settings.MEDIA_ROOT / "page-logos" / "notes.txt").write_bytes(b"private")
    PreferencePage.objects.filter(pk=page.pk).update(logo=name)
    assert client.get(f"/messaging/page-logo/{page.pk}.png").status_code == 404


def test_new_colours_give_the_stylesheet_a_new_url(client, page, staff):
    send = delivered_send(ContactFactory(), preference_page=page)
    PreferencePage.objects.filter(pk=page.pk).update(
        brand_background="#1f2d3d", brand_text="#ffffff", updated_at=timezone.now() - datetime.timedelta(hours=1)
    )
    first = re.search(r'page-style/\d+\.css\?v=(\d+)', client.get(page_url(send)).content.decode()).group(1)
    page.refresh_from_db()
    brand(page, staff, background="#000000", text="#ffffff")
    second = re.search(r'page-style/\d+\.css\?v=(\d+)', client.get(page_url(send)).content.decode()).group(1)
    assert first != second

"""The staff import pages: upload, mapping with the first rows, dry-run report, import, result, report download."""

import csv
import io

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contacts.imports.runner import import_run
from contacts.models import Contact, ContactImport, ImportMapping

from .factories import ContactFactory, UserFactory
from .imports import csv_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def import_dir(settings, tmp_path):
    settings.IMPORT_DIR = tmp_path


@pytest.fixture
def editor(client):
    user = UserFactory()
    user.groups.add(Group.objects.get(name="Editors"))
    client.force_login(user)
    return user


def upload(client, data: bytes, name="people.csv"):
    return client.post(reverse("contacts:import_list"), {"file": SimpleUploadedFile(name, data)})


def test_the_upload_form_says_the_size_limit_up_front(client, editor, settings):
    settings.IMPORT_MAX_BYTES = 5 * 1024 * 1024
    assert "at most 5.0\xa0MB" in client.get(reverse("contacts:import_list")).content.decode()


def test_an_upload_announced_above_the_limit_is_refused_before_its_body_is_read(client, editor, settings):
    settings.IMPORT_MAX_BYTES = 1024
    response = client.generic("POST", reverse("contacts:import_list"), b"x" * 200_000,
                              content_type="multipart/form-data; boundary=xyz")
    assert response.status_code == 400
    assert "larger than" in response.content.decode()
    assert not ContactImport.objects.exists()


def test_a_bad_file_is_shown_its_reason_next_to_the_field(client, editor):
    response = upload(client, b"email,name\r\n")
    assert response.status_code == 400
    assert "header but no rows" in response.content.decode()
    assert not ContactImport.objects.exists()


def test_upload_map_dry_run_import_and_result(client, editor, category):
    ContactFactory(email="old@example.com", first_name="")
    response = upload(client, csv_bytes("E-mail,Name,News", "old@example.com,Olga,yes", "new@example.com,Nina,no",
                                        "bad,Bad,yes"))
    contact_import = ContactImport.objects.get()
    assert response.status_code == 302 and response.url == reverse("contacts:import_detail", args=[contact_import.pk])
    page = client.get(response.url).content.decode()
    assert "Olga" in page and "Nina" in page  # the first rows, next to the mapping

    response = client.post(reverse("contacts:import_detail", args=[contact_import.pk]), {
        "column_0": "contact:email", "column_1": "contact:first_name", "column_2": f"category:{category.slug}",
        "match_on": "email", "policy": "empty_only"})
    assert response.status_code == 302
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.CHECKING
    assert ImportMapping.objects.get().mapping == ["contact:email", "contact:first_name", f"category:{category.slug}"]
    assert 'hx-trigger="every 1s"' in client.get(response.url).content.decode()  # the progress bar polls

    import_run(import_id=contact_import.pk)
    page = client.get(response.url).content.decode()
    assert "Dry run" in page and "Enter a valid email address." in page
    assert Contact.objects.count() == 1

    client.post(reverse("contacts:import_start", args=[contact_import.pk]))
    import_run(import_id=contact_import.pk)
    page = client.get(response.url).content.decode()
    assert "Result" in page and Contact.objects.count() == 2
    assert Contact.objects.get(email="old@example.com").first_name == "Olga"

    report = client.get(reverse("contacts:import_report", args=[contact_import.pk, "import"]))
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert rows[0] == ["line", "column", "value", "reason", "kind"]
    assert rows[1][:3] == ["4", "E-mail", "bad"]


def test_the_next_file_with_the_same_header_gets_the_remembered_mapping(client, editor):
    ImportMapping.objects.create(header_key=__import__("contacts.imports.mapping", fromlist=["x"]).header_key(
        ["Courriel", "Prénom"]), mapping=["contact:email", "contact:first_name"], match_on="email", policy="overwrite")
    upload(client, csv_bytes("Courriel,Prénom", "a@example.com,Ana"))
    page = client.get(reverse("contacts:import_detail", args=[ContactImport.objects.get().pk])).content.decode()
    assert '<option value="contact:first_name" selected>' in page
    assert '<option value="overwrite" selected>' in page


def test_the_report_download_neutralises_formulas(client, editor):
    upload(client, csv_bytes("email,name", 'a@example.com,"=HYPERLINK(""http://x"")"'))
    contact_import = ContactImport.objects.get()
    client.post(reverse("contacts:import_detail", args=[contact_import.pk]), {
        "column_0": "contact:email", "column_1": "contact:first_name", "match_on": "email", "policy": "empty_only"})
    import_run(import_id=contact_import.pk)
    report = client.get(reverse("contacts:import_report", args=[contact_import.pk, "check"]))
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert rows[1][2].startswith("'=HYPERLINK")


def test_a_viewer_cannot_upload(client):
    user = UserFactory()
    user.groups.add(Group.objects.get(name="Viewers"))
    client.force_login(user)
    assert client.get(reverse("contacts:import_list")).status_code == 200
    assert upload(client, csv_bytes("email", "a@example.com")).status_code == 403

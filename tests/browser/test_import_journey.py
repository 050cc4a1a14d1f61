"""A newcomer brings the audience in from the browser: two fields, the demo file, the dry run, the import,
the contacts with their fields, the list filtered by a field, and the export."""

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from contacts.models import CategorySubscription, Contact, PreferenceChange
from contacts.services import category_unsubscribe
from contacts.tests.factories import CategoryFactory, ContactFactory

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]
DEMO_FILE = Path(__file__).resolve().parents[2] / "contacts" / "demo" / "contacts-sample.csv"


def define_field(page, label: str, key: str, kind: str) -> None:
    page.get_by_role("link", name="Fields").click()
    page.get_by_role("link", name="New field").click()
    page.get_by_label("Label*", exact=True).fill(label)  # not "Label (French)"
    page.get_by_label("Key").fill(key)
    page.get_by_label("Type").select_option(kind)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text(label).first).to_be_visible()


@pytest.mark.timeout(300)
def test_a_newcomer_imports_the_demo_file_and_finds_the_contacts_by_field(logged_in, live_server, celery_workers,
                                                                          settings, tmp_path, artifacts):
    settings.IMPORT_DIR = tmp_path
    page = logged_in
    newsletter = CategoryFactory(name="Monthly newsletter", slug="newsletter")
    eva = ContactFactory(email="eva.lindqvist@example.com", first_name="", last_name="", phone="")
    category_unsubscribe(contact=eva, category=newsletter, source="public_page")
    celery_workers.start()

    define_field(page, "Company", "company", "text")
    define_field(page, "Employees", "employees", "number")

    page.get_by_role("link", name="Import", exact=True).click()
    expect(page.get_by_text("at most")).to_be_visible()  # the size limit, said before uploading
    page.get_by_label("CSV file").set_input_files(DEMO_FILE)
    page.get_by_role("button", name="Upload").click()

    # The mapping step: the first rows next to each column, guessed from the names.
    mapping = page.locator("#import-mapping")
    expect(mapping).to_contain_text("amelie.durand@example.com")
    expect(mapping.get_by_label("Company", exact=True)).to_have_value("field:company")
    expect(mapping.get_by_label("Newsletter", exact=True)).to_have_value("category:newsletter")
    mapping.get_by_label("Language").select_option("contact:locale")
    page.get_by_role("button", name="Run the dry run").click()

    report = page.locator("#dry-run-report")
    expect(report).to_be_visible(timeout=60_000)
    expect(report.locator("[data-count=new]")).to_have_text("12")
    expect(report.locator("[data-count=updated]")).to_have_text("1")
    expect(report.locator("[data-count=rejected]")).to_have_text("7")
    expect(report.locator("[data-count=kept]")).to_have_text("1")
    expect(report).to_contain_text("Looks like a spreadsheet formula")
    expect(report).to_contain_text("Enter a valid email address.")
    expect(report).to_contain_text("never resubscribes")
    with page.expect_download() as download:
        report.get_by_role("link", name="Download the report (CSV)").click()
    lines = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert lines[0] == ["line", "column", "value", "reason", "kind"] and len(lines) == 1 + 8
    assert Contact.objects.count() == 1  # the dry run wrote nothing

    page.get_by_role("button", name="Import", exact=True).click()
    result = page.locator("#import-result")
    expect(result).to_be_visible(timeout=60_000)
    expect(result.locator("[data-count=new]")).to_have_text("12")
    page.screenshot(path=str(artifacts / "import-result.png"), full_page=True)
    assert Contact.objects.count() == 13
    assert CategorySubscription.objects.get(contact=eva, category=newsletter).status == "unsubscribed"
    assert PreferenceChange.objects.filter(source__startswith="import:", kind="field").exists()

    result.get_by_role("link", name="See the contacts").click()
    page.get_by_label("Field", exact=True).select_option("company")
    page.get_by_label("Condition").select_option("eq")
    page.get_by_label("Value", exact=True).fill("Acme")
    page.get_by_label("Field columns").select_option(["company", "employees"])
    page.get_by_role("button", name="Search").click()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(4)  # Amélie, Dmitri, Gus, Paula (Karim and Marc were rejected)
    expect(page.locator("table")).to_contain_text("Amélie")
    expect(page.locator("table")).to_contain_text("120")

    page.get_by_role("link", name="Export CSV").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert sorted(row["email"] for row in exported) == [
        "amelie.durand@example.com", "dmitri.ivanov@example.com", "gus.martin@example.com", "paula.moreau@example.com"]

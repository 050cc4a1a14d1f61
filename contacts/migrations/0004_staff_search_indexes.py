"""Indexes for the staff contacts list at a million rows (PostgreSQL only; SQLite is the small demo).

- A trigram index over the text the list's search box matches (name, email, phone): a search
  for any fragment is an index scan instead of reading every contact. The expression must stay
  identical to ``contacts.selectors.ContactSearchText``.
- An index for sorting by email.
"""

from django.db import migrations

SEARCH_EXPRESSION = "UPPER(first_name || ' ' || last_name || ' ' || email || ' ' || phone)"

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX IF NOT EXISTS contact_search_trgm_idx ON contacts_contact USING gin (({SEARCH_EXPRESSION}) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS contact_email_sort_idx ON contacts_contact (email, id)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS contact_search_trgm_idx",
    "DROP INDEX IF EXISTS contact_email_sort_idx",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0003_cap_check_rejects_null_number")]

    operations = [migrations.RunPython(forward, backward)]

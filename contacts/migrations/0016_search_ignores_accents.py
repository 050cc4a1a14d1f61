"""Staff search ignores accents as well as case (``contacts.search``).

PostgreSQL: ``pc_search_fold(text)`` = ``upper(unaccent(text))``, declared immutable (the
dictionary is named explicitly) so the trigram index can cover it; the index of migration 0004 is
rebuilt over the folded text. SQLite registers a Python function of the same name per connection.
"""

from django.db import migrations

OLD_EXPRESSION = "UPPER(first_name || ' ' || last_name || ' ' || email || ' ' || phone)"
SEARCH_EXPRESSION = "pc_search_fold(first_name || ' ' || last_name || ' ' || email || ' ' || phone)"

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    """CREATE OR REPLACE FUNCTION pc_search_fold(text) RETURNS text
       LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
       AS $$ SELECT upper(public.unaccent('public.unaccent'::regdictionary, $1)) $$""",
    "DROP INDEX IF EXISTS contact_search_trgm_idx",
    f"CREATE INDEX contact_search_trgm_idx ON contacts_contact USING gin (({SEARCH_EXPRESSION}) gin_trgm_ops)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS contact_search_trgm_idx",
    f"CREATE INDEX contact_search_trgm_idx ON contacts_contact USING gin (({OLD_EXPRESSION}) gin_trgm_ops)",
    "DROP FUNCTION IF EXISTS pc_search_fold(text)",
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
    dependencies = [("contacts", "0015_drop_indexes_covered_by_composites")]

    operations = [migrations.RunPython(forward, backward)]

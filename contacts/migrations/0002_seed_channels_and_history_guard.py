from django.db import migrations

from contacts.bootstrap import default_rows_ensure

# The database refuses to rewrite history; deleting a contact (erasure) still cascades.
GUARD_SQL = """
CREATE OR REPLACE FUNCTION contacts_preferencechange_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'contacts_preferencechange is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER contacts_preferencechange_no_update
    BEFORE UPDATE ON contacts_preferencechange
    FOR EACH ROW EXECUTE FUNCTION contacts_preferencechange_immutable();
"""
UNGUARD_SQL = """
DROP TRIGGER IF EXISTS contacts_preferencechange_no_update ON contacts_preferencechange;
DROP FUNCTION IF EXISTS contacts_preferencechange_immutable();
"""


def seed(apps, schema_editor):
    default_rows_ensure(apps.get_model("contacts", "Channel"), apps.get_model("contacts", "PreferenceSettings"))


def guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD_SQL)


def unguard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNGUARD_SQL)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0001_initial")]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        migrations.RunPython(guard, unguard),
    ]

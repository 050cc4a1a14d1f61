from django.db import migrations

# Deleting a category or segment detaches its history rows (SET NULL; `subject` keeps the slug).
# The guard lets exactly that through and still refuses any other change to a history row.
GUARD_SQL = """
CREATE OR REPLACE FUNCTION contacts_preferencechange_immutable() RETURNS trigger AS $$
BEGIN
    IF (to_jsonb(NEW) - 'category_id' - 'segment_id') = (to_jsonb(OLD) - 'category_id' - 'segment_id')
       AND (NEW.category_id IS NULL OR NEW.category_id = OLD.category_id)
       AND (NEW.segment_id IS NULL OR NEW.segment_id = OLD.segment_id) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'contacts_preferencechange is append-only';
END;
$$ LANGUAGE plpgsql;
"""
STRICT_SQL = """
CREATE OR REPLACE FUNCTION contacts_preferencechange_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'contacts_preferencechange is append-only';
END;
$$ LANGUAGE plpgsql;
"""


def guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD_SQL)


def strict(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(STRICT_SQL)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0004_staff_search_indexes")]

    operations = [migrations.RunPython(guard, strict)]

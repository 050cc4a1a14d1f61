"""Category and segment texts per language: staff enter each language; the default one stays where it was."""

from django.urls import reverse
from django.utils import translation

from contacts.models import Category, Segment, StaffChange
from preference_center.tests.test_embedded_default import embedded_env, manage

from .factories import CategoryFactory, SegmentFactory
from .test_staff_views import editor, editor_client, staff_user  # noqa: F401


def test_a_french_name_is_read_in_french_and_an_empty_one_falls_back(db):
    category = CategoryFactory(name="News", name_fr="Actualités", description="What is new.", description_fr="")
    assert category.in_language("name", "fr") == "Actualités"
    assert category.in_language("description", "fr") == "What is new."
    assert category.in_language("name", "en") == "News"
    assert category.in_language("name", "de") == "News"  # a language without columns: the default


def test_a_segments_public_name_in_french_falls_back_to_the_public_name_then_to_the_name(db):
    segment = SegmentFactory(name="VIP", name_fr="", public_name="Club members", public_name_fr="Membres du club")
    with translation.override("fr"):
        assert segment.display_public_name == "Membres du club"
        segment.public_name_fr = ""
        assert segment.display_public_name == "Club members"
        segment.public_name = ""
        segment.name_fr = "Très important"
        assert segment.display_public_name == "Très important"
    assert segment.display_public_name == "VIP"


def test_staff_edit_a_categorys_name_and_description_in_both_languages_and_the_audit_keeps_it(editor_client):
    category = CategoryFactory(name="News", slug="news", description="What is new.")
    response = editor_client.post(reverse("contacts:category_edit", args=[category.pk]), {
        "name": "News", "name_fr": "Actualités", "slug": "news",
        "description": "What is new.", "description_fr": "Ce qui est nouveau.", "public": "on",
    })
    assert response.status_code == 302
    category.refresh_from_db()
    assert (category.name, category.name_fr, category.description_fr) == ("News", "Actualités", "Ce qui est nouveau.")
    (row,) = StaffChange.objects.all()
    assert row.changes == {"name_fr": ["", "Actualités"], "description_fr": ["", "Ce qui est nouveau."]}
    page = editor_client.get(reverse("contacts:category_edit", args=[category.pk])).content.decode()
    assert 'name="name_fr"' in page and 'value="Actualités"' in page and 'name="description_fr"' in page


def test_the_default_language_name_is_required_and_the_french_one_optional(editor_client):
    response = editor_client.post(reverse("contacts:category_create"), {"name": "", "name_fr": "Offres", "slug": "offers"})
    assert response.status_code == 200 and not Category.objects.exists()
    editor_client.post(reverse("contacts:category_create"), {"name": "Offers", "slug": "offers"})
    assert Category.objects.get(slug="offers").name_fr == ""


def test_staff_create_a_segment_with_french_names(editor_client):
    response = editor_client.post(reverse("contacts:segment_create"), {
        "name": "VIP", "name_fr": "VIP (fr)", "slug": "vip", "public_name": "Club members",
        "public_name_fr": "Membres du club", "description": "", "description_fr": "Nos meilleurs clients",
    })
    assert response.status_code == 302
    segment = Segment.objects.get(slug="vip")
    assert (segment.name_fr, segment.public_name_fr, segment.description_fr) == (
        "VIP (fr)", "Membres du club", "Nos meilleurs clients")
    (row,) = StaffChange.objects.all()
    assert row.action == "created" and row.changes["public_name_fr"] == [None, "Membres du club"]


OLD_ROWS = """
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
# The schema before the French columns (no post_migrate handlers: they read tables not made yet).
executor = MigrationExecutor(connection)
executor.migrate([("contacts", "0017_staff_preference_time_zone")])
with connection.cursor() as cursor:
    cursor.execute("INSERT INTO contacts_category (name, slug, description, public, opt_in, created_at)"
                   " VALUES ('News', 'news', 'What is new.', 1, 0, '2026-01-01')")
    cursor.execute("INSERT INTO contacts_segment (name, slug, description, public, public_name, created_at)"
                   " VALUES ('VIP', 'vip', 'Best', 1, 'Club members', '2026-01-01')")
"""

NEW_ROWS = """
from django.utils import translation
from contacts.models import Category, Segment
category, segment = Category.objects.get(slug="news"), Segment.objects.get(slug="vip")
with translation.override("fr"):
    print(category.in_language("name"), category.in_language("description"), segment.display_public_name, sep="|")
print(repr(category.name_fr), repr(segment.public_name_fr), sep="|")
"""


def test_the_migration_keeps_existing_names_as_the_default_language(tmp_path):
    env = embedded_env(tmp_path)
    manage(env, "shell", "-v", "0", "-c", OLD_ROWS)
    manage(env, "migrate", "--noinput")
    lines = manage(env, "shell", "-v", "0", "-c", NEW_ROWS).splitlines()
    assert lines == ["News|What is new.|Club members", "''|''"]

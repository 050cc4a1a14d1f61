"""The embedded SQLite demo's contacts list ignores accents and case too (the same rule, in Python)."""

import textwrap

from preference_center.tests.test_embedded_default import embedded_env, manage

SEARCH_ON_SQLITE = textwrap.dedent("""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from contacts.models import Contact

    assert connection.vendor == "sqlite"
    Contact.objects.create(first_name="Inès", last_name="Léa-Moreau", email="ines@example.org")
    Contact.objects.create(first_name="Igor", last_name="Nesbitt", email="igor@example.org")
    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.get(username="admin"))
    for query in ("ines", "INES", "inès", "lea moreau"):
        page = client.get("/", {"q": query}).content.decode()
        assert "Léa-Moreau" in page and "Nesbitt" not in page, (query, page[:2000])
    print("accent-free search ok")
""")


def test_the_contacts_list_on_sqlite_finds_ines_for_ines(tmp_path):
    env = embedded_env(tmp_path)
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo", "--contacts", "5", "--no-progress")
    assert "accent-free search ok" in manage(env, "shell", "-v", "0", "-c", SEARCH_ON_SQLITE)

"""Staff search ignores case and accents on PostgreSQL ("ines" finds "Inès"), through the trigram index."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.urls import reverse

from contacts.search import search_fold
from contacts.selectors import contact_list

from .factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer_client(db):
    user = UserFactory()
    user.groups.add(Group.objects.get(name="Viewers"))
    client = Client()
    client.force_login(user)
    return client


def test_search_fold_drops_accents_and_case():
    assert search_fold("Inès Léa Çelik") == "INES LEA CELIK"


@pytest.mark.parametrize("query", ["ines", "INES", "inès", "Ínes", "lea", "léa"])
def test_the_contacts_list_finds_accented_names_whatever_is_typed(viewer_client, query):
    ContactFactory(first_name="Inès", last_name="Léa-Moreau", email="im@example.org")
    ContactFactory(first_name="Igor", last_name="Nesbitt", email="ig@example.org")
    page = viewer_client.get(reverse("contacts:contact_list"), {"q": query}).content.decode()
    assert "Inès" in page
    assert "Nesbitt" not in page


def test_plain_names_are_found_by_accented_words_too(db):
    ContactFactory(first_name="Ines", last_name="Lopez")
    assert [c.first_name for c in contact_list(search="inès lópez")] == ["Ines"]


def test_the_folded_search_can_use_the_trigram_index(db):
    ContactFactory(first_name="Inès")
    query = contact_list(search="ines").query
    sql, params = query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "contact_search_trgm_idx" in plan, plan

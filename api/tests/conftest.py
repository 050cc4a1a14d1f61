import pytest
from rest_framework.test import APIClient

from api.models import Scope
from api.services import api_key_create
from contacts.tests.factories import UserFactory

ALL_SCOPES = list(Scope.values)


@pytest.fixture
def admin(db):
    return UserFactory(username="root", is_superuser=True)


@pytest.fixture
def issue_key(admin):
    def issue(name: str = "crm", scopes=None):
        return api_key_create(acting_user=admin, name=name, scopes=scopes or ALL_SCOPES)

    return issue


def client_for(secret: str, scheme: str = "Token") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {secret}")
    return client


@pytest.fixture
def api(issue_key):
    """A client whose key has every scope, named "crm"."""
    return client_for(issue_key().secret)

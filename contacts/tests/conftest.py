import pytest

from contacts.models import Channel

from .factories import CategoryFactory, ContactFactory, SegmentFactory


@pytest.fixture
def email(db) -> Channel:
    return Channel.objects.get(slug="email")


@pytest.fixture
def sms(db) -> Channel:
    return Channel.objects.get(slug="sms")


@pytest.fixture
def contact(db):
    return ContactFactory()


@pytest.fixture
def category(db):
    return CategoryFactory()


@pytest.fixture
def segment(db):
    return SegmentFactory()

"""A channel's delivery backend comes from the DELIVERY_BACKENDS registry; nothing else is ever imported."""

import datetime
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse

from contacts.models import Channel
from messaging.delivery.backends import UnknownBackend, backend_for
from messaging.models import Send

from .conftest import run_dispatch
from .factories import MessageFactory

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 3, 2, 9, tzinfo=datetime.UTC)
UNKNOWN = ["sys.exit", "os.system", "messaging.tests.backend_bomb.Bomb"]


@pytest.mark.parametrize("path", UNKNOWN)
def test_saving_a_channel_with_an_unknown_backend_is_refused(email, path):
    before = email.backend
    email.backend = path
    with pytest.raises(ValidationError):
        email.save()
    email.refresh_from_db()
    assert email.backend == before


@pytest.mark.parametrize("path", UNKNOWN)
def test_the_admin_refuses_an_unknown_backend_and_offers_the_registry(client, email, path):
    before = email.backend
    client.force_login(get_user_model().objects.create_superuser("root", password="x"))
    url = reverse("admin:contacts_channel_change", args=[email.pk])
    form = client.get(url).content.decode()
    assert 'value="messaging.delivery.backends.email.EmailBackend"' in form
    response = client.post(url, {"slug": "email", "name": "Email", "address_field": "email", "backend": path,
                                 "position": 0, "default_cap_number": "", "default_cap_unit": ""})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    email.refresh_from_db()
    assert email.backend == before


def test_a_registered_backend_is_accepted(email):
    email.backend = "messaging.delivery.backends.noop.NoopBackend"
    email.save()
    assert type(backend_for(email)).__name__ == "NoopBackend"


@pytest.mark.parametrize("path", UNKNOWN)
def test_a_row_written_around_the_model_is_refused_before_any_import(email, path):
    Channel.objects.filter(pk=email.pk).update(backend=path)
    email.refresh_from_db()
    with pytest.raises(UnknownBackend):
        backend_for(email)
    assert "messaging.tests.backend_bomb" not in sys.modules


def test_a_dispatch_on_a_channel_set_to_sys_exit_stops_with_a_clear_error_and_sends_nothing(members, email):
    Channel.objects.filter(pk=email.pk).update(backend="sys.exit")
    members()
    message = MessageFactory(channels=["email"], segments=[members.segment])
    with pytest.raises(UnknownBackend, match="sys.exit"):
        run_dispatch(message, now=NOW)
    assert not Send.objects.filter(message=message).exists()


def test_the_registry_holds_the_default_backends_and_only_backend_classes(settings):
    from django.utils.module_loading import import_string

    from messaging.delivery.backends import DEFAULT_BACKENDS, ChannelBackend

    assert set(DEFAULT_BACKENDS.values()) <= set(settings.DELIVERY_BACKENDS)
    assert all(issubclass(import_string(path), ChannelBackend) for path in settings.DELIVERY_BACKENDS)

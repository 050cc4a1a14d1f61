"""What follows a finished import: dynamic segments catch up, integrators hear of it once."""

import pytest
from celery import current_app

from contacts import tasks
from contacts.models import SegmentMembership
from contacts.services.dynamic_segments import SEGMENTS_REBUILD
from contacts.tests.factories import SegmentFactory
from webhooks.models import WebhookEndpoint, WebhookEvent

from .imports import checked, csv_bytes, imported, uploaded

pytestmark = pytest.mark.django_db

ACME = {"join": "and", "groups": [{"join": "and", "conditions": [
    {"field": "email_domain", "op": "equals", "value": "acme.com"}]}]}


@pytest.fixture(autouse=True)
def import_dir(settings, tmp_path):
    settings.IMPORT_DIR = tmp_path


@pytest.fixture
def tasks_sent(monkeypatch):
    """The task names handed to the broker (the edge of the world), in order."""
    sent = []
    monkeypatch.setattr(current_app, "send_task", lambda name, *args, **kwargs: sent.append(name))
    return sent


def acme_file():
    return checked(uploaded(csv_bytes("email", "ann@acme.com", "bob@other.org")), {"email": "contact:email"})


def test_a_finished_import_has_every_dynamic_segment_rebuilt_so_new_contacts_join(
    tasks_sent, django_capture_on_commit_callbacks
):
    segment = SegmentFactory(filter=ACME)
    contact_import = acme_file()
    assert SEGMENTS_REBUILD not in tasks_sent  # the dry run changed nobody

    with django_capture_on_commit_callbacks(execute=True):
        imported(contact_import)
    assert tasks_sent.count(SEGMENTS_REBUILD) == 1
    assert tasks.segments_rebuild_task.name == SEGMENTS_REBUILD
    tasks.segments_rebuild_task()  # what the worker then runs
    members = SegmentMembership.objects.filter(segment=segment, removed=False)
    assert list(members.values_list("contact__email", flat=True)) == ["ann@acme.com"]


def test_a_finished_import_tells_listening_endpoints_once_with_its_counts(tasks_sent):
    WebhookEndpoint.objects.create(name="CRM", url="https://crm.example.com/hooks", events=["import.finished"])
    contact_import = acme_file()
    assert not WebhookEvent.objects.exists()  # a dry run is not an import

    imported(contact_import)
    event = WebhookEvent.objects.get()
    assert event.type == "import.finished"
    assert event.payload["data"]["import_id"] == contact_import.pk
    assert event.payload["data"]["counts"] == contact_import.import_counts
    assert contact_import.import_counts["new"] == 2

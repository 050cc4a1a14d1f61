import io

import pytest
from django.core.management import call_command

from contacts.models import Channel
from messaging.models import Send

from .factories import MessageFactory


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_dispatch_wait_sends_through_a_worker_and_prints_the_outcomes(celery_workers, members):
    Channel.objects.filter(slug="email").update(backend="messaging.delivery.backends.noop.NoopBackend")
    first, second = members(), members(email="")
    message = MessageFactory(channels=["email"], segments=[members.segment])
    celery_workers.start()
    out = io.StringIO()
    call_command("dispatch", str(message.pk), "--wait", stdout=out, stderr=io.StringIO())
    assert dict(Send.objects.values_list("contact_id", "outcome")) == {first.pk: "sent", second.pk: "skipped_no_address"}
    assert "sent: 1" in out.getvalue() and "skipped_no_address: 1" in out.getvalue()


def test_process_deferred_reports_what_it_re_decided(db):
    out = io.StringIO()
    call_command("process_deferred", stdout=out)
    assert '"reevaluated": 0' in out.getvalue()

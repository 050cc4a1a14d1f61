"""On the embedded SQLite demo, a deferred send handed over after its batch finished is published
once as sent (the hand-over finds finished batches there without the share lock PostgreSQL takes)."""

import textwrap

from preference_center.tests.test_embedded_default import embedded_env, manage

HAND_OVER_ON_SQLITE = textwrap.dedent("""
    import datetime
    from django.db import connection
    from django.db.models import Q
    from django.utils import timezone
    from contacts import services as contact_services
    from contacts.models import Channel, Contact, Segment, SegmentMembership
    from messaging import services
    from messaging.models import Dispatch, Send
    from messaging.tests.factories import MessageFactory
    from webhooks.models import WebhookEndpoint, WebhookEvent

    assert connection.vendor == "sqlite"
    now = timezone.now().replace(microsecond=0)
    WebhookEndpoint.objects.create(name="BI", url="https://bi.example.com/hooks", events=["send.outcome"])
    email = Channel.objects.get(slug="email")
    segment = Segment.objects.create(name="Hand-over", slug="hand-over")
    paused = Contact.objects.create(email="paused@example.org", time_zone="UTC")
    SegmentMembership.objects.create(contact=paused, segment=segment, source="system")
    contact_services.channel_pause_set(contact=paused, channel=email, pause_from=now.date(),
                                       pause_to=(now + datetime.timedelta(days=2)).date(), source="system")
    message = MessageFactory(channels=["email"], segments=[segment])
    dispatch = Dispatch.objects.create(message=message, deliver_until=now + datetime.timedelta(days=7))
    for batch_id in services.dispatch_plan(dispatch_id=dispatch.pk):
        services.batch_decide(batch=services.batch_claim(batch_id=batch_id), now=now)
        services.sends_deliver(sends=Q(dispatch=dispatch))
        services.batch_finish(batch_id=batch_id)
    send = Send.objects.get(dispatch=dispatch, contact=paused)
    assert send.outcome == "deferred", send.outcome
    report = services.deferred_process(now=now + datetime.timedelta(days=4))
    assert report.to_deliver == [send.pk], report
    services.sends_deliver_now(send_ids=report.to_deliver)
    services.sends_deliver_now(send_ids=report.to_deliver)  # a redelivered task records nothing twice
    outcomes = [item["outcome"] for payload in WebhookEvent.objects.order_by("id").values_list("payload", flat=True)
                for item in payload["data"]["sends"] if item["send_id"] == send.pk]
    print("outcomes:", outcomes)
""")


def test_a_deferred_send_handed_over_on_sqlite_is_published_once_as_sent(tmp_path):
    env = embedded_env(tmp_path)
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo", "--contacts", "5", "--no-progress")
    assert "outcomes: ['deferred', 'sent']" in manage(env, "shell", "-v", "0", "-c", HAND_OVER_ON_SQLITE)

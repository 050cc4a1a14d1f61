import datetime

import factory
from django.utils import timezone

from contacts.models import Channel
from messaging.models import Dispatch, Message, MessageVersion, Send


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Newsletter {n}")

    @factory.post_generation
    def channels(self, create, extracted, **kwargs):
        """``channels=["email", "sms"]`` adds a version per channel, in that order."""
        for position, slug in enumerate(extracted if extracted is not None else ["email", "sms"]):
            channel = Channel.objects.get(slug=slug)
            MessageVersion.objects.create(
                message=self,
                channel=channel,
                position=position,
                subject="Hello {first_name}" if slug == "email" else "",
                text_body="Hi {first_name}, spring sale!" if slug == "email" else "Spring sale, {first_name}!",
                html_body="<p>Hi {first_name}, <b>spring sale</b>!</p>" if slug == "email" else "",
            )

    @factory.post_generation
    def segments(self, create, extracted, **kwargs):
        for segment in extracted or []:
            self.segments.add(segment)


def past_send(contact, channel_slug: str, at: datetime.datetime, *, outcome="sent", transactional=False) -> Send:
    """A send of another message, made at ``at``: what frequency caps look back on."""
    message = MessageFactory(channels=[channel_slug], transactional=transactional)
    dispatch = Dispatch.objects.create(message=message, deliver_until=at + datetime.timedelta(days=7))
    channel = Channel.objects.get(slug=channel_slug)
    counted = outcome in ("sent", "sending")
    return Send.objects.create(
        message=message,
        dispatch=dispatch,
        contact=contact,
        channel=channel,
        outcome=outcome,
        transactional=transactional,
        decided_at=at,
        evaluated_at=at,
        sent_at=at if counted or outcome == "failed" else None,
        deferred_until=at if outcome == "deferred" else None,
        first_deferred_at=at if outcome == "deferred" else None,
    )


def aware(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=datetime.timezone.utc)


def now_utc() -> datetime.datetime:
    return timezone.now()

"""Test sends (proofs): a message's versions delivered to a few staff addresses and numbers through the
channels' real backends, marked as a test, with no send row, so no cap, report or contact sees it."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from contacts.models import StaffChange
from contacts.services.staff_audit import Action, actor_label, staff_change_record
from messaging.addresses import recipient_address
from messaging.delivery.backends import backend_for
from messaging.delivery.rendering import Delivery
from messaging.delivery.proofs import TestSendRenderer, test_delivery_id
from messaging.models import Message

FIELD = "test send"  # the audit row on the message: "test send: — → a@example.org, +33…"
_SEPARATORS = re.compile(r"[,;\r\n]+")  # not spaces: "+33 6 12 34 56 78" is one number


class TestSendRefused(Exception):
    """Nothing was sent; the message says why (bad addresses, too many, too often)."""

    def __init__(self, errors: list[str]):
        super().__init__(" ".join(errors))
        self.errors = errors


@dataclass
class TestSendReport:
    delivered: list[tuple[str, str]] = field(default_factory=list)  # (channel name, address)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (channel name, address, error)


def test_recipients_parse(text: str, *, message: Message) -> dict[str, list[str]]:
    """The typed addresses and numbers by address field, each once, checked against the message's
    versions and ``MESSAGING_TEST_SEND_MAX_RECIPIENTS``. Raises TestSendRefused with every problem."""
    values = [value.strip() for value in _SEPARATORS.split(text) if value.strip()]
    errors, by_field = [], {}
    for value in values:
        try:
            address_field, address = recipient_address(value)
        except ValidationError as invalid:
            errors.extend(invalid.messages)
            continue
        if address not in by_field.setdefault(address_field, []):
            by_field[address_field].append(address)
    limit = settings.MESSAGING_TEST_SEND_MAX_RECIPIENTS
    if not values:
        errors.append(_("Enter at least one email address or phone number."))
    elif (count := sum(len(addresses) for addresses in by_field.values())) > limit:
        errors.append(ngettext("A test goes to at most %(limit)s recipient; you entered %(count)s.",
                               "A test goes to at most %(limit)s recipients; you entered %(count)s.", limit)
                      % {"limit": limit, "count": count})
    versions = {version.channel.address_field for version in message.versions.select_related("channel")}
    for address_field, addresses in by_field.items():
        if addresses and address_field not in versions:
            errors.append(_("The message has no version for %(addresses)s.") % {"addresses": ", ".join(addresses)})
    if errors:
        raise TestSendRefused(errors)
    return by_field


@transaction.atomic
def _test_send_record(*, message: Message, recipients: dict[str, list[str]], acting_user, now) -> None:
    """Audit the test send, after checking the sender's hourly allowance. The user's row lock makes
    two tests sent at once by the same person count each other."""
    get_user_model().objects.select_for_update().filter(pk=acting_user.pk).values_list("pk", flat=True).first()
    allowance = settings.MESSAGING_TEST_SENDS_PER_HOUR
    recent = StaffChange.objects.filter(
        actor=actor_label(acting_user), subject_type="message", changes__has_key=FIELD,
        created_at__gte=now - datetime.timedelta(hours=1),
    ).count()
    if recent >= allowance:
        raise TestSendRefused([ngettext("You may send %(n)s test an hour; try again later.",
                                        "You may send %(n)s tests an hour; try again later.", allowance)
                               % {"n": allowance}])
    everyone = ", ".join(address for addresses in recipients.values() for address in addresses)
    staff_change_record(acting_user=acting_user, subject_type="message", subject_id=message.pk,
                        subject_label=str(message), action=Action.UPDATED, changes={FIELD: [None, everyone]})


def message_test_send(*, message: Message, recipients: str, acting_user, now=None) -> TestSendReport:
    """Send each version of the message to the typed recipients of its channel, as a test.

    The audit row (and the allowance check) commit first; delivery follows with no lock held,
    through each channel's configured backend, one delivery per recipient and version."""
    by_field = test_recipients_parse(recipients, message=message)
    _test_send_record(message=message, recipients=by_field, acting_user=acting_user, now=now or timezone.now())
    report = TestSendReport()
    sent_by = acting_user.get_username()
    for version in message.ordered_versions():
        channel = version.channel
        addresses = by_field.get(channel.address_field, [])
        if not addresses:
            continue
        renderer = TestSendRenderer(message, version, sent_by=sent_by)
        deliveries = [
            Delivery(send_id=test_delivery_id(), contact_id=0, first_name=acting_user.first_name or sent_by,
                     last_name=acting_user.last_name, address=address, locale=translation.get_language() or "en")
            for address in addresses
        ]
        errors = backend_for(channel).deliver(renderer, deliveries)
        for delivery in deliveries:
            if error := errors.get(delivery.send_id):
                report.failed.append((channel.name, delivery.address, error))
            else:
                report.delivered.append((channel.name, delivery.address))
    return report

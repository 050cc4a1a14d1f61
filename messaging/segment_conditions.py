"""Message activity in segment filters: "was sent message X", "was sent any message in the last N
days", "has a deferred send", "was ever deferred". Registered with ``contacts.segment_filter`` from ``ready`` (contacts
never imports messaging); each condition compiles to one ``Exists`` on the send table, part of the
filter's one statement (docs/segments.md, "Message activity").

"Sent" is what the engine counts as sent: the outcomes of ``CAP_COUNTED`` (handed to a backend),
with ``sent_at`` the moment it was. "Deferred" is a send waiting now (outcome ``deferred``); "was
ever deferred" is a send the decision deferred at some point (``first_deferred_at``, kept once it
is sent, expires or is cancelled).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from contacts.segment_filter import ConditionKind, KindOperator
from messaging.models import CAP_COUNTED, Message, Send

ACTIVITY = "activity"


def _sends() -> Any:
    return Send.objects.filter(contact=OuterRef("pk"))


def activity_q(op: str, value: Any, now: datetime.datetime) -> Q:
    """One cleaned message-activity condition as a ``Q`` over contacts."""
    sent = _sends().filter(outcome__in=CAP_COUNTED)
    deferred = _sends().filter(outcome=Send.Outcome.DEFERRED)
    if op in ("sent_message", "not_sent_message"):
        q = Q(Exists(sent.filter(message_id=value)))
        return q if op == "sent_message" else ~q
    if op in ("sent_in_last", "none_sent_in_last"):
        q = Q(Exists(sent.filter(sent_at__gte=now - datetime.timedelta(days=value))))
        return q if op == "sent_in_last" else ~q
    if op == "deferred_message":
        return Q(Exists(deferred.filter(message_id=value)))
    if op == "deferred_any":
        return Q(Exists(deferred))
    ever_deferred = _sends().filter(first_deferred_at__isnull=False)
    if op == "was_deferred_message":
        return Q(Exists(ever_deferred.filter(message_id=value)))
    if op == "was_deferred_any":
        return Q(Exists(ever_deferred))
    raise KeyError(op)


def message_choices() -> list[tuple[str, str]]:
    return [(str(pk), name) for pk, name in Message.objects.order_by("name", "pk").values_list("pk", "name")]


MESSAGE_ACTIVITY = ConditionKind(
    key=ACTIVITY,
    label=_("Message activity"),
    operators=(
        KindOperator("sent_message", _("was sent the message"), "choice", _("Was sent %(value)s")),
        KindOperator("not_sent_message", _("was not sent the message"), "choice", _("Was not sent %(value)s")),
        KindOperator("sent_in_last", _("was sent any message in the last (days)"), "days",
                     _("Was sent a message in the last %(value)s days")),
        KindOperator("none_sent_in_last", _("was sent no message in the last (days)"), "days",
                     _("Was sent no message in the last %(value)s days")),
        KindOperator("deferred_message", _("has a deferred send of the message"), "choice",
                     _("Has a deferred send of %(value)s")),
        KindOperator("deferred_any", _("has a deferred send of any message"), "none",
                     _("Has a deferred send of any message")),
        KindOperator("was_deferred_message", _("was ever deferred for the message"), "choice",
                     _("Was ever deferred for %(value)s")),
        KindOperator("was_deferred_any", _("was ever deferred for any message"), "none",
                     _("Was ever deferred for any message")),
    ),
    choices=message_choices,
    q=activity_q,
)

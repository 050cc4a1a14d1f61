"""Reads of messaging: a message's recipient estimate, progress and reports of a dispatch, lost
planning, a contact's sends, the outbox."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncDay, TruncHour, TruncMinute, TruncSecond
from django.utils import timezone

from contacts.models import Contact, PreferenceChange

from .engine.deferred import ORPHAN_AFTER
from .engine.dispatch import message_recipients_sql
from .engine.estimate import Estimate, message_estimate  # noqa: F401 (a read: the send page's estimate)
from .models import BatchStatus, Dispatch, Message, Outcome, OutboxMessage, Send, UnsubscribeFeedback
from .public.tokens import tokens_hide
from .sql import sql_compose


@dataclass
class DispatchProgress:
    recipients: int | None
    batches: int
    batches_done: int
    counts: dict[str, int]  # outcome -> sends, every outcome listed

    @property
    def decided(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> bool:
        return self.recipients is not None and self.batches_done == self.batches

    @property
    def percent(self) -> int:
        if not self.recipients:
            return 100 if self.recipients == 0 else 0
        return min(100, round(100 * self.decided / self.recipients))


def dispatch_progress(*, dispatch: Dispatch) -> DispatchProgress:
    """Recipients, batches done and sends per outcome: two queries."""
    batches = dispatch.batches.aggregate(
        total=Count("id"), done=Count("id", filter=Q(status=BatchStatus.DONE))
    )
    counts = {outcome: 0 for outcome in Outcome.values}
    for row in Send.objects.filter(dispatch=dispatch).values("outcome").annotate(n=Count("id")).order_by():
        counts[row["outcome"]] = row["n"]
    return DispatchProgress(
        recipients=dispatch.recipients, batches=batches["total"], batches_done=batches["done"], counts=counts
    )


# The chart's time steps, in seconds: the first that draws the dispatch in at most CHART_BARS bars.
TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400)
CHART_BARS = 60


def time_step(duration: datetime.timedelta) -> int:
    """The bar width, in seconds, for a dispatch that lasted ``duration``."""
    seconds = duration.total_seconds()
    return next((step for step in TIME_STEPS if seconds / step <= CHART_BARS), TIME_STEPS[-1])


def dispatch_timeline(*, dispatch: Dispatch) -> tuple[int, list[tuple[datetime.datetime, dict[str, int]]]]:
    """Sends per outcome per time step of their last evaluation (the chart of the report), and the
    step in seconds, chosen from the dispatch's duration: a sub-minute dispatch is not one block."""
    sends = Send.objects.filter(dispatch=dispatch)
    span = sends.aggregate(first=Min("evaluated_at"), last=Max("evaluated_at"))
    if span["first"] is None:
        return 1, []
    step = time_step(span["last"] - span["first"])
    trunc = TruncSecond if step < 60 else TruncMinute if step < 3600 else TruncHour
    rows = sends.annotate(at=trunc("evaluated_at")).values("at", "outcome").annotate(n=Count("id")).order_by("at")
    series: dict[datetime.datetime, dict[str, int]] = {}
    for row in rows:
        at = row["at"]
        bucket = at - datetime.timedelta(seconds=int(at.timestamp()) % step)
        counts = series.setdefault(bucket, {})
        counts[row["outcome"]] = counts.get(row["outcome"], 0) + row["n"]
    return step, sorted(series.items())


@dataclass
class ChannelResults:
    channel: str  # the channel's name; "" for sends decided without one (skipped, expired…)
    counts: dict[str, int]  # outcome -> sends

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def dispatch_results_by_channel(*, dispatch: Dispatch) -> list[ChannelResults]:
    """Sends per channel and outcome: one query."""
    rows = (
        Send.objects.filter(dispatch=dispatch)
        .values("channel__name", "outcome").annotate(n=Count("id")).order_by("channel__name")
    )
    results: dict[str, ChannelResults] = {}
    for row in rows:
        name = row["channel__name"] or ""
        results.setdefault(name, ChannelResults(channel=name, counts={})).counts[row["outcome"]] = row["n"]
    return sorted(results.values(), key=lambda result: (result.channel == "", result.channel))


def deferred_sends(*, dispatch: Dispatch | None = None) -> QuerySet[Send]:
    sends = Send.objects.filter(outcome=Outcome.DEFERRED).select_related("contact", "message").order_by("deferred_until", "id")
    return sends.filter(dispatch=dispatch) if dispatch else sends


def contact_sends(contact: Contact) -> QuerySet[Send]:
    """The contact's sends, newest first, for the profile timeline (message and channel joined)."""
    return Send.objects.filter(contact=contact).select_related("message", "channel").order_by("-decided_at", "-id")


def outbox_messages(*, to: str = "") -> QuerySet[OutboxMessage]:
    messages = OutboxMessage.objects.select_related("send__contact", "send__message")
    return messages.filter(to__icontains=to) if to else messages


def outbox_message_links_hidden(item: OutboxMessage) -> OutboxMessage:
    """The item as a reader who may not change preferences sees it: its links carry no working token."""
    item.body, item.html_body = tokens_hide(item.body), tokens_hide(item.html_body)
    item.headers = {name: tokens_hide(value) for name, value in (item.headers or {}).items()}
    return item


def message_recipient_count(*, message: Message) -> int:
    """The recipient estimate shown before sending: members of the source segments, each once."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql_compose("SELECT count(*) FROM ({recipients}) r", recipients=message_recipients_sql()),
            {"message_id": message.pk},
        )
        return cursor.fetchone()[0]


def dispatches_planning_stalled(*, now: datetime.datetime | None = None) -> list[int]:
    """Dispatches whose planning task was lost: planning is the broker's until ``ORPHAN_AFTER``
    (a planning task merely queued behind others must not be issued twice)."""
    now = now or timezone.now()
    return list(
        Dispatch.objects.filter(planned_at__isnull=True, created_at__lte=now - ORPHAN_AFTER).values_list("pk", flat=True)
    )


# --- What a message cost: opt-outs attributed to the send whose link or event caused them ------------

LEAVING_SOURCES = ("public_page", "one_click", "mailto", "sms_stop")
# A history row that is an unsubscribe caused by a send (its link, its mailbox, a STOP reply).
UNSUBSCRIBE_CAUSED = Q(kind=PreferenceChange.Kind.DNC, new_value="unsubscribed", source__in=LEAVING_SOURCES)


@dataclass
class ChannelCost:
    channel: str
    sends: int  # handed to a provider
    unsubscribes: dict[str, int]  # source -> count, every LEAVING_SOURCES listed
    complaints: int
    bounces: int
    opt_downs: int  # caps and pauses the contact saved from this message's page
    # Sends of this group (by the send's own channel) whose link or event unsubscribed someone: one
    # send that stopped email and SMS at once counts once, so the rate never passes 100 %.
    unsubscribing_sends: int = 0

    @property
    def unsubscribed(self) -> int:
        return sum(self.unsubscribes.values())

    @property
    def rate(self) -> float | None:
        return self.unsubscribing_sends / self.sends if self.sends else None


def _leaving_count(cost: ChannelCost, *, kind: str, new: str, source: str, n: int) -> None:
    """The attribution rule: which history rows caused by a send count as what it cost."""
    if kind == PreferenceChange.Kind.DNC and new == "unsubscribed" and source in cost.unsubscribes:
        cost.unsubscribes[source] += n
    elif kind == PreferenceChange.Kind.DNC and new == "complaint":
        cost.complaints += n
    elif kind == PreferenceChange.Kind.DNC and new == "bounced":
        cost.bounces += n
    elif kind in (PreferenceChange.Kind.FREQUENCY, PreferenceChange.Kind.PAUSE) and source == "public_page":
        cost.opt_downs += n


LEAVING_KINDS = (PreferenceChange.Kind.DNC, PreferenceChange.Kind.FREQUENCY, PreferenceChange.Kind.PAUSE)


def _cost_empty(key) -> ChannelCost:
    return ChannelCost(key, 0, dict.fromkeys(LEAVING_SOURCES, 0), 0, 0, 0)


def _message_of_send():
    # send_id is a plain id (contacts never imports messaging): the message comes from the send.
    return Subquery(Send.objects.filter(pk=OuterRef("send_id")).values("message_id")[:1])


def leaving_costs_grouped(*, sends: QuerySet[Send], by: str) -> dict[object, ChannelCost]:
    """What the given sends cost, grouped ``by`` "channel" (the changed channel's slug), "message"
    (the message id) or "message_channel" (``(message id, channel slug)``): sends handed over, and
    every history row whose ``send_id`` names one of them, counted by ``_leaving_count``; the rate's
    numerator, sends that unsubscribed someone, is keyed like the sends (their own channel). Three
    queries whatever the number of sends or groups."""
    handed = sends.filter(sent_at__isnull=False, channel__isnull=False)
    if by == "channel":
        send_keys, change_keys = ("channel__slug",), {"g0": F("channel__slug")}
    elif by == "message":
        send_keys, change_keys = ("message_id",), {"g0": _message_of_send()}
    elif by == "message_channel":
        send_keys, change_keys = ("message_id", "channel__slug"), {"g0": _message_of_send(), "g1": F("channel__slug")}
    else:
        raise ValueError(by)
    key_of = (lambda values: values[0]) if len(send_keys) == 1 else tuple
    costs: dict[object, ChannelCost] = {}
    for *values, n in handed.values_list(*send_keys).annotate(n=Count("id")).values_list(*send_keys, "n").order_by():
        key = key_of(values)
        costs[key] = _cost_empty(key)
        costs[key].sends = n
    unsubscribing = PreferenceChange.objects.filter(UNSUBSCRIBE_CAUSED, send_id=OuterRef("pk"))
    for *values, n in (
        handed.filter(Exists(unsubscribing)).values_list(*send_keys).annotate(n=Count("id"))
        .values_list(*send_keys, "n").order_by()
    ):
        costs[key_of(values)].unsubscribing_sends = n
    changes = (
        # Only the kinds ``_leaving_count`` counts: each names a channel (a category change names none).
        PreferenceChange.objects.filter(send_id__in=sends.values("id"), kind__in=LEAVING_KINDS)
        .annotate(**change_keys).values_list(*change_keys, "kind", "new_value", "source").annotate(n=Count("id"))
        .order_by()
    )
    for *values, kind, new, source, n in changes:
        key = key_of(values)
        cost = costs.get(key) or costs.setdefault(key, _cost_empty(key))
        _leaving_count(cost, kind=kind, new=new, source=source, n=n)
    return costs


def leaving_costs_add(total: ChannelCost, cost: ChannelCost) -> None:
    """Add ``cost``'s counts into ``total`` (groups summed into a wider one, without another query)."""
    total.sends += cost.sends
    total.unsubscribing_sends += cost.unsubscribing_sends
    total.complaints += cost.complaints
    total.bounces += cost.bounces
    total.opt_downs += cost.opt_downs
    for source, n in cost.unsubscribes.items():
        total.unsubscribes[source] += n


@dataclass
class ReasonCount:
    """How many answers named one reason for leaving, under its current label."""

    label: str
    answers: int
    active: bool  # still offered to contacts
    former_labels: list[str]  # other labels the answers were given under (the choice was renamed)


def leaving_reasons_counted(*, answers: QuerySet[UnsubscribeFeedback] | None = None) -> list[ReasonCount]:
    """The answers grouped by the choice they name (its id: a renamed choice keeps its answers),
    most given first, then in staff's order; the labels they were given under, when they differ
    from today's, come along. One query."""
    answers = UnsubscribeFeedback.objects.all() if answers is None else answers
    rows = (
        answers.values_list("choice_id", "choice__label", "choice__active", "choice__position", "label")
        .annotate(n=Count("id")).order_by()
    )
    counts: dict[int, tuple[int, ReasonCount]] = {}
    for choice_id, current, active, position, given_as, n in rows:
        _position, count = counts.setdefault(choice_id, (position, ReasonCount(current, 0, active, [])))
        count.answers += n
        if given_as != current and given_as not in count.former_labels:
            count.former_labels.append(given_as)
    ordered = sorted(counts.items(), key=lambda item: (-item[1][1].answers, item[1][0], item[0]))
    return [count for _choice_id, (_position, count) in ordered]


def message_leaving_costs(*, message: Message) -> tuple[list[ChannelCost], list[ReasonCount]]:
    """Per channel: sends handed over, do-not-contact events by source (each attributed to the send
    whose link or event caused it, the history row's ``send_id``), complaints, bounces and
    opt-downs; and the reasons given. Four queries whatever the number of sends."""
    costs = leaving_costs_grouped(sends=Send.objects.filter(message=message), by="channel")
    reasons = leaving_reasons_counted(answers=UnsubscribeFeedback.objects.filter(send__message=message))
    return [costs[slug] for slug in sorted(costs)], reasons


def dispatch_leaving_costs(*, dispatch: Dispatch) -> list[ChannelCost]:
    """The same costs for one dispatch's sends, per channel: three queries."""
    costs = leaving_costs_grouped(sends=Send.objects.filter(dispatch=dispatch), by="channel")
    return [costs[slug] for slug in sorted(costs)]


def message_unsubscribes_by_day(*, message: Message) -> list[tuple[datetime.datetime, dict[str, int]]]:
    """Unsubscribes caused by the message's sends per day (current time zone) and source: one query."""
    rows = (
        PreferenceChange.objects.filter(UNSUBSCRIBE_CAUSED, send_id__in=Send.objects.filter(message=message).values("id"))
        .annotate(day=TruncDay("created_at")).values("day", "source").annotate(n=Count("id")).order_by("day")
    )
    series: dict[datetime.datetime, dict[str, int]] = {}
    for row in rows:
        series.setdefault(row["day"], {})[row["source"]] = row["n"]
    return sorted(series.items())


@dataclass
class MessageCost:
    message: Message
    cost: ChannelCost  # every channel together
    channels: dict[str, ChannelCost] = field(default_factory=dict)  # the same per channel slug

    @property
    def rate(self) -> float:
        return self.cost.rate or 0.0

    @property
    def percent(self) -> float:
        return 100 * self.rate

    def channel_unsubscribes(self, slug: str) -> int:
        cost = self.channels.get(slug)
        return cost.unsubscribed if cost else 0


# The dashboard's sort keys: the column a user clicks -> how a row compares. Besides these, a
# source of LEAVING_SOURCES sorts by its unsubscribes, and "channel_<slug>" by a channel's.
MESSAGE_COST_SORTS = {
    "name": lambda row: row.message.name.lower(),
    "sends": lambda row: row.cost.sends,
    "unsubscribes": lambda row: row.cost.unsubscribed,
    "rate": lambda row: row.rate,
    "opt_downs": lambda row: row.cost.opt_downs,
    "complaints": lambda row: row.cost.complaints,
    "bounces": lambda row: row.cost.bounces,
    **{source: (lambda row, source=source: row.cost.unsubscribes[source]) for source in LEAVING_SOURCES},
}


def _message_cost_sort(key: str):
    if key in MESSAGE_COST_SORTS:
        return MESSAGE_COST_SORTS[key]
    if key.startswith("channel_") and key.removeprefix("channel_"):
        slug = key.removeprefix("channel_")
        return lambda row: row.channel_unsubscribes(slug)
    raise KeyError(key)


@dataclass
class LeavingCostsDashboard:
    rows: list[MessageCost]  # one per message, sorted
    channels: list[ChannelCost]  # every message together, per channel (by source inside)


def messages_leaving_costs(*, sort: str = "-unsubscribes") -> LeavingCostsDashboard:
    """Every message that was sent, with what it cost over all its channels and per channel, sorted
    by a key of ``MESSAGE_COST_SORTS``, a source, or ``channel_<slug>`` ("-" first for descending;
    ties by name); and the totals of every message per channel and source. Four queries whatever
    the number of messages. Raises ``KeyError`` for an unknown sort key."""
    key = _message_cost_sort(sort.removeprefix("-"))
    grouped = leaving_costs_grouped(sends=Send.objects.all(), by="message_channel")
    by_message: dict[int, dict[str, ChannelCost]] = {}
    totals: dict[str, ChannelCost] = {}
    for (message_id, slug), cost in grouped.items():
        if message_id is None:  # a history row whose send is gone
            continue
        by_message.setdefault(message_id, {})[slug] = cost
        leaving_costs_add(totals.setdefault(slug, _cost_empty(slug)), cost)
    messages = Message.objects.in_bulk(list(by_message))
    rows = []
    for pk, channels in by_message.items():
        if pk not in messages:
            continue
        total = _cost_empty(None)
        for cost in channels.values():
            leaving_costs_add(total, cost)
        rows.append(MessageCost(messages[pk], total, channels))
    rows.sort(key=lambda row: (row.message.name.lower(), row.message.pk))
    rows.sort(key=key, reverse=sort.startswith("-"))
    return LeavingCostsDashboard(rows=rows, channels=[totals[slug] for slug in sorted(totals)])

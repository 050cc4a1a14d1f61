"""The send decision of SPEC §3 for one contact, in plain Python.

This is the readable statement of the rules. The worker decides thousands of recipients per
statement with ``messaging.engine.decision.sql`` on PostgreSQL; a property-based test proves both give
the same answer on random data. Previews and the embedded SQLite demo use this version.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass, field

from contacts import rules as contact_rules
from contacts.rules import category_block, channel_reachable, contact_today, contact_zone, paused_on
from messaging.models import Outcome, Reason

UTC = datetime.timezone.utc
# A pause ends at the midnight after its last day; Python's calendar ends on 9999-12-31, so a pause
# to that day ends then (a day early: no deadline lies beyond it). PostgreSQL's dates go further.
LAST_PAUSE_DAY_ENDING = datetime.date.max - datetime.timedelta(days=1)

SENDING, DEFERRED, EXPIRED = Outcome.SENDING, Outcome.DEFERRED, Outcome.EXPIRED
SKIPPED_CATEGORY, SKIPPED_DNC, SKIPPED_NO_ADDRESS = Outcome.SKIPPED_CATEGORY, Outcome.SKIPPED_DNC, Outcome.SKIPPED_NO_ADDRESS


@dataclass(frozen=True)
class PlannedChannel:
    """A channel the message has a version for, in the message's channel order."""

    id: int
    slug: str
    address_field: str
    default_cap_number: int | None
    default_cap_unit: str


@dataclass(frozen=True)
class MessagePlan:
    """What the decision needs to know about a message."""

    message_id: int
    channels: tuple[PlannedChannel, ...]
    deliver_until: datetime.datetime
    transactional: bool = False
    category_id: int | None = None
    category_opt_in: bool = False


@dataclass
class ChannelFacts:
    """One contact on one channel: DNC, own preference, and recent cap-counted send times (sorted)."""

    dnc: bool = False
    preferred: bool = False
    pause_from: datetime.date | None = None
    pause_to: datetime.date | None = None
    cap_number: int | None = None
    cap_unit: str = ""
    recent_sends: list[datetime.datetime] = field(default_factory=list)


@dataclass
class ContactFacts:
    contact_id: int
    time_zone: str
    addresses: dict[str, str]  # address field name -> value
    category_status: str | None = None
    channels: dict[int, ChannelFacts] = field(default_factory=dict)


@dataclass(frozen=True)
class ChannelVerdict:
    """Why one channel was or was not used: what the preview shows."""

    channel: PlannedChannel
    has_address: bool
    dnc: bool
    preferred: bool
    paused: bool
    pause_ends: datetime.datetime | None
    cap: tuple[int, str] | None
    sends_in_window: int
    capped: bool
    ready_at: datetime.datetime | None

    @property
    def reachable(self) -> bool:
        return channel_reachable(has_address=self.has_address, dnc=self.dnc)


@dataclass(frozen=True)
class Decision:
    outcome: str
    channel_id: int | None = None
    reason: str = ""
    deferred_until: datetime.datetime | None = None
    verdicts: tuple[ChannelVerdict, ...] = ()


def month_shift(moment: datetime.datetime, months: int) -> datetime.datetime:
    """Calendar months in UTC, clamped to the month's last day, as PostgreSQL's ``interval '1 month'``."""
    moment = moment.astimezone(UTC)
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def window_start(unit: str, now: datetime.datetime) -> datetime.datetime:
    """Rolling windows: the last day, 7 days, or calendar month before ``now``."""
    if unit == "month":
        return month_shift(now, -1)
    return now - datetime.timedelta(days=1 if unit == "day" else 7)


def window_end(unit: str, sent_at: datetime.datetime) -> datetime.datetime:
    """When a send made at ``sent_at`` leaves the window."""
    if unit == "month":
        return month_shift(sent_at, 1)
    return sent_at + datetime.timedelta(days=1 if unit == "day" else 7)


def pause_end(last_day: datetime.date, zone: datetime.tzinfo) -> datetime.datetime:
    """The midnight after the pause's last day, in the contact's zone; total for any stored date."""
    next_day = min(last_day, LAST_PAUSE_DAY_ENDING) + datetime.timedelta(days=1)
    return datetime.datetime.combine(next_day, datetime.time(), tzinfo=zone).astimezone(UTC)


def effective_cap(facts: ChannelFacts, channel: PlannedChannel) -> tuple[int, str] | None:
    """``contacts.rules.effective_cap`` for one contact on one planned channel."""
    return contact_rules.effective_cap(facts.cap_number, facts.cap_unit, channel.default_cap_number, channel.default_cap_unit)


def channel_verdict(
    contact: ContactFacts, channel: PlannedChannel, *, now: datetime.datetime, transactional: bool
) -> ChannelVerdict:
    facts = contact.channels.get(channel.id) or ChannelFacts()
    # Strict: a send is never decided on a guessed day (an unknown zone fails this contact alone).
    zone = contact_zone(contact.time_zone, strict=True)
    paused, pause_ends = False, None
    if not transactional and facts.pause_from is not None:
        paused = paused_on(facts.pause_from, facts.pause_to, contact_today(contact.time_zone, now, strict=True))
        if paused:
            # The pause is inclusive: it ends at midnight after its last day, in the contact's zone.
            pause_ends = pause_end(facts.pause_to, zone)
    cap = None if transactional else effective_cap(facts, channel)
    in_window, capped, free_at = 0, False, None
    if cap:
        number, unit = cap
        start = window_start(unit, now)
        recent = [moment for moment in facts.recent_sends if moment > start]
        in_window = len(recent)
        if in_window >= number:
            capped = True
            # The channel frees up when enough of the oldest sends have left the window.
            free_at = window_end(unit, recent[in_window - number])
    ready = [moment for moment in (pause_ends, free_at) if moment is not None]
    return ChannelVerdict(
        channel=channel,
        has_address=bool(contact.addresses.get(channel.address_field)),
        dnc=facts.dnc,
        preferred=facts.preferred,
        paused=paused,
        pause_ends=pause_ends,
        cap=cap,
        sends_in_window=in_window,
        capped=capped,
        ready_at=max(ready) if ready else None,
    )


def decide(contact: ContactFacts, plan: MessagePlan, now: datetime.datetime) -> Decision:
    """SPEC §3, steps 1–7, for one contact at ``now``."""
    if plan.category_id is not None and not plan.transactional:
        if blocked := category_block(opt_in=plan.category_opt_in, status=contact.category_status):
            return Decision(SKIPPED_CATEGORY, reason=blocked)

    verdicts = tuple(channel_verdict(contact, ch, now=now, transactional=plan.transactional) for ch in plan.channels)
    # Preferred first, then the message's channel order (the sort is stable).
    reachable = sorted((v for v in verdicts if v.reachable), key=lambda v: not v.preferred)
    if not reachable:
        if any(v.has_address for v in verdicts):
            return Decision(SKIPPED_DNC, reason=Reason.DNC, verdicts=verdicts)
        return Decision(SKIPPED_NO_ADDRESS, reason=Reason.NO_ADDRESS, verdicts=verdicts)

    for verdict in reachable:
        if not (verdict.paused or verdict.capped):
            if verdict is not reachable[0]:
                reason = Reason.FALLBACK
            else:
                reason = Reason.PREFERRED if verdict.preferred else Reason.CHANNEL_ORDER
            return Decision(SENDING, channel_id=verdict.channel.id, reason=reason, verdicts=verdicts)

    if now >= plan.deliver_until:
        return Decision(EXPIRED, reason=Reason.DEADLINE, verdicts=verdicts)
    if all(v.paused for v in reachable):
        reason = Reason.PAUSED
    elif not any(v.paused for v in reachable):
        reason = Reason.CAPPED
    else:
        reason = Reason.PAUSED_AND_CAPPED
    until = min(min(v.ready_at for v in reachable), plan.deliver_until)
    return Decision(DEFERRED, reason=reason, deferred_until=until, verdicts=verdicts)

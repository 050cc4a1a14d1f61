"""What is sent and when (SPEC §3): messages with a version per channel, dispatches, sends.

A send is the one outcome of one message for one contact, ever: the database refuses a second
row for the same (message, contact), which is what makes retries and redelivered tasks safe.
"""

from __future__ import annotations

import datetime
import zoneinfo

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from contacts.models import (
    PAGE_SWITCHES, PAGE_TEXTS, Category, Channel, Contact, PreferenceSettings, Segment, Translated, validate_time_zone,
)
from contacts.rules import CATEGORY_BLOCK_LABELS

from .addresses import validate_sender

# The public-page switches a message may override; None on the message means "the global setting".
SWITCHES, SWITCH_TEXTS = PAGE_SWITCHES, PAGE_TEXTS
# SPEC §3: a message without its own deadline is delivered until this long after dispatch.
DELIVER_WITHIN = datetime.timedelta(days=7)


class Message(models.Model):
    name = models.CharField(max_length=200)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="messages",
        help_text=_("Contacts who left this category do not receive the message."),
    )
    segments = models.ManyToManyField(Segment, related_name="messages", help_text=_("Who receives it."))
    transactional = models.BooleanField(
        default=False,
        help_text=_("Skips frequency caps, pauses and categories, never do-not-contact. Does not count toward caps."),
    )
    deliver_until = models.DateTimeField(
        null=True, blank=True, help_text=_("Deferred sends still waiting then expire. Empty: 7 days after sending.")
    )
    from_email = models.CharField(
        max_length=254, blank=True, validators=[validate_sender],
        help_text=_("Empty: the site's default sender. Else one address, optionally with a name: News <news@example.com>."),
    )

    show_preferences = models.BooleanField(null=True, blank=True, verbose_name=_("show preferences"))
    show_frequency = models.BooleanField(null=True, blank=True, verbose_name=_("show frequency"))
    show_pause = models.BooleanField(null=True, blank=True, verbose_name=_("show pause dates"))
    show_preferred_channel = models.BooleanField(null=True, blank=True, verbose_name=_("show preferred channel"))
    show_categories = models.BooleanField(null=True, blank=True, verbose_name=_("show categories"))
    show_segments = models.BooleanField(null=True, blank=True, verbose_name=_("show segments"))
    unsubscribe_text = models.TextField(blank=True, help_text=_("Empty: the global text."))
    resubscribe_text = models.TextField(blank=True, help_text=_("Empty: the global text."))
    # Deleting a page a message uses is refused (``messaging.services.pages.page_delete`` names them).
    preference_page = models.ForeignKey(
        "PreferencePage", null=True, blank=True, on_delete=models.PROTECT, related_name="messages",
        help_text=_("Empty: the page built from the switches below."),
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set by message_archive: a message with sends is archived, never deleted (its links and caps need it).
    archived_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    def get_absolute_url(self) -> str:
        return reverse("messaging:message_detail", args=[self.pk])

    def page_switches(self, defaults: PreferenceSettings | None = None) -> dict:
        """The public-page switches in effect: the message's own value, else the global one."""
        defaults = defaults or PreferenceSettings.load()
        effective = {}
        for name in SWITCHES:
            own = getattr(self, name)
            effective[name] = getattr(defaults, name) if own is None else own
        for name in SWITCH_TEXTS:
            effective[name] = getattr(self, name) or getattr(defaults, name)
        return effective

    def deadline(self, now: datetime.datetime) -> datetime.datetime:
        """When its deferred sends expire if it is dispatched at ``now``: its own deadline, else ``DELIVER_WITHIN``."""
        return self.deliver_until or now + DELIVER_WITHIN

    def ordered_versions(self) -> list[MessageVersion]:
        return sorted(self.versions.select_related("channel"), key=lambda v: (v.position, v.channel_id))


class MessageVersion(models.Model):
    """What the message says on one channel. Versions in ``position`` order are the channel order."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="versions")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0, help_text=_("Lower is tried first."))
    subject = models.CharField(max_length=255, blank=True)
    text_body = models.TextField(blank=True)
    html_body = models.TextField(blank=True)
    # The French texts, for contacts whose locale is French (docs/languages.md): used when the
    # French text or HTML body is filled, the subject falling back to the default one.
    subject_fr = models.CharField(_("subject (French)"), max_length=255, blank=True, default="", db_default="")
    text_body_fr = models.TextField(_("text body (French)"), blank=True, default="", db_default="")
    html_body_fr = models.TextField(_("HTML body (French)"), blank=True, default="", db_default="")

    class Meta:
        ordering = ["position", "channel_id"]
        constraints = [
            models.UniqueConstraint(fields=["message", "channel"], name="msgversion_unique_message_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.message} — {self.channel}"


class DispatchStatus(models.TextChoices):
    PLANNING = "planning", _("Planning")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")


class Dispatch(models.Model):
    """One sending of a message to its segments, split into batches of contact-id ranges."""

    Status = DispatchStatus

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="dispatches")
    status = models.CharField(max_length=10, choices=DispatchStatus.choices, default=DispatchStatus.PLANNING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deliver_until = models.DateTimeField()
    batch_size = models.PositiveIntegerField(default=5000)
    recipients = models.PositiveIntegerField(null=True, blank=True, help_text=_("Known once planned."))
    created_at = models.DateTimeField(auto_now_add=True)
    planned_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("dispatches")

    def __str__(self) -> str:
        return f"{self.message} #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("messaging:dispatch_detail", args=[self.pk])


class ScheduleStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    STARTED = "started", _("Started")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Could not start")


class ScheduledDispatch(models.Model):
    """A dispatch to start at ``run_at``: staff chose the date and time in ``time_zone``. The
    periodic task starts it once (``status`` moves from scheduled to started in one conditional
    update); until then staff may move or cancel it."""

    Status = ScheduleStatus

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="schedules")
    run_at = models.DateTimeField()
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    status = models.CharField(max_length=10, choices=ScheduleStatus.choices, default=ScheduleStatus.SCHEDULED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dispatch = models.OneToOneField(
        Dispatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="schedule"
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run_at", "id"]
        verbose_name_plural = _("scheduled dispatches")
        indexes = [
            models.Index(fields=["run_at"], name="schedule_due_idx", condition=models.Q(status="scheduled")),
        ]

    def __str__(self) -> str:
        return f"{self.message} at {self.when}"

    @property
    def when(self) -> str:
        """The moment as staff chose it, in its own zone (a template's date filter would show the page's)."""
        return f"{self.run_at_local:%Y-%m-%d %H:%M} {self.time_zone}"

    @property
    def run_at_local(self) -> datetime.datetime:
        return self.run_at.astimezone(zoneinfo.ZoneInfo(self.time_zone))


class BatchStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DECIDED = "decided", _("Decided")
    DONE = "done", _("Done")


class DispatchBatch(models.Model):
    """The recipients of a dispatch whose contact id lies in [first_contact_id, last_contact_id]."""

    Status = BatchStatus

    dispatch = models.ForeignKey(Dispatch, on_delete=models.CASCADE, related_name="batches")
    first_contact_id = models.BigIntegerField()
    last_contact_id = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=BatchStatus.choices, default=BatchStatus.PENDING)
    # When a worker last started on it: the periodic task re-enqueues batches whose worker vanished.
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dispatch_id", "first_contact_id"]
        constraints = [
            models.UniqueConstraint(fields=["dispatch", "first_contact_id"], name="batch_unique_dispatch_start"),
            models.CheckConstraint(
                name="batch_range_ordered", condition=Q(first_contact_id__lte=models.F("last_contact_id"))
            ),
        ]
        indexes = [models.Index(fields=["status", "claimed_at"], name="batch_status_idx")]

    def __str__(self) -> str:
        return f"{self.dispatch} [{self.first_contact_id}–{self.last_contact_id}]"


class Outcome(models.TextChoices):
    SENDING = "sending", _("Sending")  # decided and counted toward caps, being handed to the backend
    SENT = "sent", _("Sent")
    DEFERRED = "deferred", _("Deferred")
    SKIPPED_CATEGORY = "skipped_category", _("Skipped: category")
    SKIPPED_DNC = "skipped_dnc", _("Skipped: do not contact")
    SKIPPED_NO_ADDRESS = "skipped_no_address", _("Skipped: no address")
    EXPIRED = "expired", _("Expired")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class Reason(models.TextChoices):
    """Why a send has its outcome, as the decision and the hand-over write it into ``Send.reason``
    (a plain column: staff cancellations and category blocks write their own text there too)."""

    PREFERRED = "preferred", _("Preferred channel")
    CHANNEL_ORDER = "channel_order", _("Channel order")
    FALLBACK = "fallback", _("Fallback channel")
    DNC = "dnc", _("Do not contact")
    NO_ADDRESS = "no_address", _("No address")
    DEADLINE = "deadline", _("Deadline passed")
    PAUSED = "paused", _("Paused")
    CAPPED = "capped", _("Capped")
    PAUSED_AND_CAPPED = "paused_and_capped", _("Paused and capped")
    DNC_BEFORE_DELIVERY = "dnc_before_delivery", _("Do not contact before delivery")
    DNC_DURING_HANDOVER = "dnc_during_handover", _("Do not contact during hand-over")
    DECISION_FAILED = "decision_failed", _("Decision failed")


def reason_label(code: str) -> str:
    """The one place a send's or a decision's reason code becomes words: the ``Reason`` labels and
    the category blocks of ``contacts.rules``; any other text (a staff note) is shown as written."""
    if code in Reason.values:
        return str(Reason(code).label)
    return str(CATEGORY_BLOCK_LABELS.get(code, code))


# Sends that count toward frequency caps (SPEC §3: only those handed to a backend).
CAP_COUNTED = (Outcome.SENDING, Outcome.SENT)


class Send(models.Model):
    """The one outcome of one message for one contact."""

    Outcome = Outcome
    Reason = Reason

    # No single-column indexes: the composite ones below lead with these columns, and every
    # extra index slows the million-row inserts of a dispatch. No foreign-key constraints either:
    # their checks, one per row and key, cost a dispatch more than deciding it. The database
    # still refuses a send whose parent is missing: a trigger on each parent table refuses to
    # delete a row that sends reference (migration 0003), and the deciding transaction holds its
    # dispatch, message, channels (key share) and contacts (no key update) locked while it inserts.
    # PROTECT, not CASCADE: a cascade deletes the sends first, so the parent's trigger finds none and
    # delivered links die with the cap history. The ORM refuses instead; the trigger still guards raw SQL.
    message = models.ForeignKey(
        Message, on_delete=models.PROTECT, related_name="sends", db_index=False, db_constraint=False
    )
    dispatch = models.ForeignKey(
        Dispatch, on_delete=models.PROTECT, related_name="sends", db_index=False, db_constraint=False
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="sends", db_index=False, db_constraint=False
    )
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False,
        db_constraint=False,
    )
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    reason = models.CharField(max_length=40, blank=True)
    # Copied from the message so the cap query needs no join.
    transactional = models.BooleanField(default=False)
    decided_at = models.DateTimeField()
    evaluated_at = models.DateTimeField()
    deferred_until = models.DateTimeField(null=True, blank=True)
    # When the decision first deferred it; kept once it is sent, expires or is cancelled (the outcome
    # is not): what "was ever deferred" reads. Set by the insert of a deferred send, never after.
    first_deferred_at = models.DateTimeField(null=True, blank=True)
    # The moment the decision sent it: what frequency caps count.
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Which deliverer holds it (a lease, renewed while it works): no two hand it over at once,
    # and one that died lets it go when the lease runs out.
    claim_token = models.UUIDField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["message", "contact"], name="send_unique_message_contact"),
            models.CheckConstraint(name="send_outcome_known", condition=Q(outcome__in=Outcome.values)),
            models.CheckConstraint(
                name="send_deferred_has_time",
                condition=~Q(outcome=Outcome.DEFERRED) | Q(deferred_until__isnull=False),
            ),
            models.CheckConstraint(
                name="send_deferred_is_recorded",
                condition=~Q(outcome=Outcome.DEFERRED) | Q(first_deferred_at__isnull=False),
            ),
            models.CheckConstraint(
                name="send_sent_has_channel",
                condition=~Q(outcome__in=CAP_COUNTED) | (Q(channel__isnull=False) & Q(sent_at__isnull=False)),
            ),
        ]
        indexes = [
            models.Index(
                fields=["contact", "channel", "sent_at"],
                name="send_cap_window_idx",
                condition=Q(outcome__in=CAP_COUNTED, transactional=False),
            ),
            models.Index(fields=["deferred_until"], name="send_deferred_due_idx", condition=Q(outcome=Outcome.DEFERRED)),
            models.Index(fields=["dispatch", "outcome"], name="send_dispatch_outcome_idx"),
            models.Index(fields=["contact", "-decided_at"], name="send_contact_timeline_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.message} → {self.contact}: {self.outcome}"


class OutboxMessage(models.Model):
    """What a development backend 'delivered': the staff Outbox shows it, links included."""

    send = models.ForeignKey(Send, null=True, blank=True, on_delete=models.SET_NULL, related_name="outbox")
    channel_slug = models.SlugField()
    to = models.CharField(max_length=254)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField()
    html_body = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["to"], name="outbox_to_idx")]

    def __str__(self) -> str:
        return f"{self.channel_slug} to {self.to}"

    @property
    def list_unsubscribe(self) -> str:
        return (self.headers or {}).get("List-Unsubscribe", "")


class InboundMessage(models.Model):
    """A provider's id of an inbound message already acted on (an SMS keyword). The row is written
    in the transaction of the change it caused; the unique constraint makes a replayed request,
    even a concurrent one, change nothing."""

    provider = models.CharField(max_length=20)
    message_id = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "message_id"], name="inbound_message_once"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.message_id}"


class PreferencePage(models.Model):
    """A public page staff design from blocks, per language (``PreferencePageVersion``). A message
    that chooses one shows it instead of the page built from its switches. It is checked when
    published (``messaging.services.pages``), never replaced at send time."""

    name = models.CharField(max_length=200, unique=True)
    default_language = models.CharField(
        max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE,
        help_text=_("Shown to contacts whose language has no version of its own."),
    )
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Branding (``messaging.branding``): a re-encoded PNG, and colours checked for WCAG AA contrast.
    logo = models.FileField(upload_to="page-logos/", blank=True, editable=False)
    brand_background = models.CharField(max_length=7, blank=True, verbose_name=_("header colour"))
    brand_text = models.CharField(max_length=7, blank=True, verbose_name=_("header text colour"))
    footer_text = models.TextField(
        blank=True, max_length=1000, verbose_name=_("footer"),
        help_text=_("Plain text at the bottom of every version, such as the sender's postal address."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            # Only #rrggbb can reach the page's stylesheet; both colours or neither.
            models.CheckConstraint(
                condition=(Q(brand_background="") & Q(brand_text=""))
                | (Q(brand_background__regex=r"^#[0-9a-f]{6}$") & Q(brand_text__regex=r"^#[0-9a-f]{6}$")),
                name="page_brand_colours_hex",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def published(self) -> bool:
        return self.published_at is not None

    def get_absolute_url(self) -> str:
        return reverse("messaging:page_detail", args=[self.pk])


class PreferencePageVersion(models.Model):
    """The blocks of a page in one language, in their order: a JSON list of
    ``{"kind": …, "text": …, "items": [ids]}`` checked by ``messaging.pages.blocks_clean``."""

    page = models.ForeignKey(PreferencePage, on_delete=models.CASCADE, related_name="versions")
    language = models.CharField(max_length=10, choices=settings.LANGUAGES)
    blocks = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["page", "language"], name="one_page_version_per_language"),
        ]
        ordering = ["language"]

    def __str__(self) -> str:
        return f"{self.page} ({self.language})"


class LeavingReasonChoice(Translated, models.Model):
    """A reason a contact may give after unsubscribing on the page (never required), as staff word
    it per language. Choices are never deleted, only deactivated: the answers keep pointing at them.
    One choice at most asks for free text (the seeded "Other")."""

    label = models.CharField(_("label"), max_length=100)
    label_fr = models.CharField(_("label (French)"), max_length=100, blank=True, default="", db_default="")
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("offered"), default=True, help_text=_("Shown to contacts who unsubscribe."))
    asks_text = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["asks_text"], condition=Q(asks_text=True), name="one_reason_asks_text"),
            models.CheckConstraint(condition=~Q(label=""), name="reason_label_not_empty"),
        ]

    def __str__(self) -> str:
        return self.label


class UnsubscribeFeedback(models.Model):
    """Why a contact left: stored with the do-not-contact event (its history row) and the send
    whose page they used. One per event; written by ``messaging.services.feedback``."""

    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="unsubscribe_feedback")
    change = models.OneToOneField(
        "contacts.PreferenceChange", on_delete=models.CASCADE, related_name="unsubscribe_feedback"
    )
    # The choice (by id: its meaning survives a rename) and its label, in the default language, when answered.
    choice = models.ForeignKey(LeavingReasonChoice, on_delete=models.PROTECT, related_name="answers")
    label = models.CharField(max_length=100)
    text = models.TextField(blank=True, max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

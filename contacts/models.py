"""Who people are and what they allow them to be sent (SPEC §2).

Every rule that must never break is a database constraint here; the services in
``contacts.services`` check the same rules first only to give the user a clear message.
Rows are written through those services, never directly, so that each change leaves an audit row.
"""

from __future__ import annotations

import datetime
import unicodedata
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.db.models.signals import pre_delete
from django.dispatch import receiver
from django.utils import translation
from django.utils.translation import gettext_lazy as _

# [0-9], not \d: Python's \d also matches other scripts' digits, which the database check refuses.
E164_VALIDATOR = RegexValidator(
    r"^\+[1-9][0-9]{6,14}$", _("Enter the phone number in international format, e.g. +33612345678.")
)


# Pause dates lie within these years: far enough for any real plan, and every engine can compute
# the day after the last one (a pause to 9999-12-31 once overflowed the decision).
PAUSE_EARLIEST, PAUSE_LATEST = datetime.date(2000, 1, 1), datetime.date(2099, 12, 31)


def email_normalise(value: str) -> str:
    """The stored form of an email address: NFKC (a Kelvin sign "\u212a" is a "K"), trimmed, domain lower-cased.

    Case is compared by the database's ``Lower`` (the ``contact_email_unique_ci`` constraint);
    ``contacts.selectors.contacts_with_email`` is the lookup that matches it.
    """
    value = unicodedata.normalize("NFKC", value or "").strip()
    local, at, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}" if at else value


def phone_normalise(value: str) -> str:
    """The stored form of a phone number: NFKC (fullwidth digits), then any script's decimal digit as 0-9."""
    value = unicodedata.normalize("NFKC", value or "").strip()
    return "".join(str(unicodedata.decimal(char)) if char.isdecimal() else char for char in value)


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


def delivery_backend_known(path: str) -> bool:
    """A channel's backend is empty (the default for its address field) or a class of the DELIVERY_BACKENDS registry."""
    return path == "" or path in settings.DELIVERY_BACKENDS


def validate_delivery_backend(value: str) -> None:
    if not delivery_backend_known(value):
        raise ValidationError(_("%(value)s is not a known delivery backend."), params={"value": value})


def delivery_backend_choices() -> list[tuple[str, str]]:
    return [("", _("Default for the address field")), *((path, path) for path in settings.DELIVERY_BACKENDS)]


class CapUnit(models.TextChoices):
    DAY = "day", _("day")
    WEEK = "week", _("week")
    MONTH = "month", _("month")


class Channel(models.Model):
    """A way to reach a contact (email, SMS, …). A new channel is a row plus a delivery backend.

    A channel that sends reference cannot be deleted: ``messaging`` installs a delete trigger on
    this table (``contacts_channel_send_guard``, migration ``messaging/0003``), since its sends keep
    no foreign key here.
    """

    class AddressField(models.TextChoices):
        EMAIL = "email", _("Email address")
        PHONE = "phone", _("Phone number")

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    address_field = models.CharField(
        max_length=20,
        choices=AddressField.choices,
        help_text=_("The contact field that holds this channel's address."),
    )
    backend = models.CharField(
        max_length=200,
        blank=True,
        choices=delivery_backend_choices,
        help_text=_("The delivery backend class, from the registry of known ones."),
    )
    position = models.PositiveSmallIntegerField(default=0)
    # The global default cap: applies to contacts without a cap of their own. 0 or empty = no cap.
    default_cap_number = models.PositiveIntegerField(null=True, blank=True)
    default_cap_unit = models.CharField(max_length=5, choices=CapUnit.choices, blank=True)

    class Meta:
        ordering = ["position", "slug"]
        constraints = [
            models.CheckConstraint(
                name="channel_default_cap_complete",
                condition=Q(default_cap_number__isnull=True)
                | Q(default_cap_number=0)
                | (Q(default_cap_number__gte=1) & Q(default_cap_unit__in=CapUnit.values)),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        # Whoever saves (admin, shell, a migration of data), an unknown class never reaches a worker.
        validate_delivery_backend(self.backend)
        super().save(*args, **kwargs)

    @property
    def default_cap(self) -> tuple[int, str] | None:
        if self.default_cap_number and self.default_cap_unit:
            return self.default_cap_number, self.default_cap_unit
        return None


class Contact(models.Model):
    """A person marketing may reach. ``messaging`` installs a delete trigger on this table
    (``contacts_contact_send_guard``, migration ``messaging/0003``): raw SQL cannot delete a
    contact that sends still reference, since sends keep no foreign key here (the ORM deletes
    the contact's sends first: erasure)."""

    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=16, blank=True, validators=[E164_VALIDATOR])
    locale = models.CharField(max_length=10, default="en", choices=settings.LANGUAGES)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Custom field values by ``ContactField.key``, written only by ``contacts.services.fields``.
    # jsonb with a GIN index on PostgreSQL (migration 0010); the index is not declared here because
    # SQLite, the embedded demo, has no GIN.
    fields = models.JSONField(default=dict, db_default={}, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"), name="contact_email_unique_ci", condition=~Q(email="")
            ),
            models.CheckConstraint(
                name="contact_phone_e164", condition=Q(phone="") | Q(phone__regex=r"^\+[1-9][0-9]{6,14}$")
            ),
        ]
        indexes = [
            models.Index(fields=["last_name", "first_name"], name="contact_name_idx"),
            models.Index(fields=["phone"], name="contact_phone_idx"),
            models.Index(fields=["-created_at"], name="contact_created_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or self.phone or f"Contact {self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def address_for(self, channel: Channel) -> str:
        return getattr(self, channel.address_field, "") or ""


# Names a custom field key may not take: the contact's own fields and the words the pages and the
# CSV export use for them, so a column or token never means two things.
BUILT_IN_FIELD_NAMES = frozenset(
    {"id", "first_name", "last_name", "full_name", "name", "email", "phone", "locale", "time_zone",
     "created_at", "updated_at", "fields", "contact", "unsubscribe_url", "preferences_url", "unsubscribe_text"}
)
FIELD_KEY_PATTERN = r"^[a-z][a-z0-9_]{0,49}$"


class ContactFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    BOOLEAN = "boolean", _("Yes / no")
    CHOICE = "choice", _("One of a list")


class ContactField(models.Model):
    """A custom contact field staff define; each contact's value lives in ``Contact.fields[key]``.

    Stored JSON values by type: text → string, number → JSON number, date → "YYYY-MM-DD",
    boolean → true/false, choice → one of ``choices``. ``contacts.services.fields`` is the one
    place that validates and writes them.
    """

    Type = ContactFieldType

    key = models.CharField(
        max_length=50,
        unique=True,
        validators=[RegexValidator(FIELD_KEY_PATTERN, _("Lower-case letters, digits and underscores, starting with a letter."))],
        help_text=_("Used in tokens ({field:key}) and CSV columns. Lower-case letters, digits and underscores."),
    )
    label = models.CharField(max_length=100)
    type = models.CharField(max_length=10, choices=ContactFieldType.choices, default=ContactFieldType.TEXT)
    choices = models.JSONField(default=list, blank=True, help_text=_("For “one of a list”: the allowed values."))
    help_text = models.CharField(max_length=300, blank=True)
    public = models.BooleanField(default=False, help_text=_("Contacts may see this field."))
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "key"]
        constraints = [
            models.CheckConstraint(name="contactfield_type_known", condition=Q(type__in=ContactFieldType.values)),
            models.CheckConstraint(name="contactfield_key_slug", condition=Q(key__regex=FIELD_KEY_PATTERN)),
        ]

    def __str__(self) -> str:
        return self.label or self.key


class DncReason(models.TextChoices):
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    BOUNCED = "bounced", _("Bounced")
    COMPLAINT = "complaint", _("Spam complaint")
    MANUAL = "manual", _("Set by staff")


class DoNotContact(models.Model):
    """The contact must not be reached on this channel, and why (SPEC §2)."""

    Reason = DncReason

    # Reasons the contact (or staff) may lift by ticking the channel again. The others come
    # from the mailbox provider and need an explicit staff action.
    CLEARABLE = frozenset({DncReason.UNSUBSCRIBED, DncReason.MANUAL})

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="dnc_entries")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=12, choices=DncReason.choices)
    source = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("do-not-contact entry")
        verbose_name_plural = _("do-not-contact entries")
        constraints = [
            models.UniqueConstraint(fields=["contact", "channel"], name="dnc_unique_contact_channel"),
            models.CheckConstraint(name="dnc_reason_known", condition=Q(reason__in=DncReason.values)),
        ]
        indexes = [models.Index(fields=["channel", "reason"], name="dnc_channel_reason_idx")]

    def __str__(self) -> str:
        return f"{self.contact} — {self.channel}: {self.get_reason_display()}"


class ChannelPreference(models.Model):
    """A contact's frequency cap, pause window and preferred flag for one channel (SPEC §2)."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="channel_preferences")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+")
    cap_number = models.PositiveIntegerField(null=True, blank=True)
    cap_unit = models.CharField(max_length=5, choices=CapUnit.choices, blank=True)
    pause_from = models.DateField(null=True, blank=True)
    pause_to = models.DateField(null=True, blank=True)
    preferred = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "channel"], name="chpref_unique_contact_channel"),
            models.CheckConstraint(
                name="chpref_cap_complete",
                # Explicit NOT NULL: a NULL comparison would make the whole check pass.
                condition=(Q(cap_number__isnull=True) & Q(cap_unit=""))
                | (Q(cap_number__isnull=False) & Q(cap_number__gte=1) & Q(cap_unit__in=CapUnit.values)),
            ),
            models.CheckConstraint(
                name="chpref_pause_ordered",
                condition=(Q(pause_from__isnull=True) & Q(pause_to__isnull=True))
                | (
                    Q(pause_from__isnull=False)
                    & Q(pause_to__isnull=False)
                    & Q(pause_from__lte=models.F("pause_to"))
                ),
            ),
            models.CheckConstraint(
                name="chpref_pause_within_range",
                condition=Q(pause_from__isnull=True)
                | (Q(pause_from__gte=PAUSE_EARLIEST) & Q(pause_to__lte=PAUSE_LATEST)),
            ),
            models.UniqueConstraint(
                fields=["contact"], condition=Q(preferred=True), name="chpref_one_preferred_per_contact"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact} — {self.channel}"

    @property
    def cap(self) -> tuple[int, str] | None:
        return (self.cap_number, self.cap_unit) if self.cap_number else None

    @property
    def pause(self) -> tuple | None:
        return (self.pause_from, self.pause_to) if self.pause_from else None

    @property
    def is_empty(self) -> bool:
        return not (self.cap_number or self.pause_from or self.preferred)


class Translated:
    """Texts staff enter per language: ``<field>`` holds the default language, ``<field>_<code>`` another.

    The default-language value stays in the original column (SQL, API, audit and staff lists read
    it as before); a contact's language falls back to it when its own text is empty.
    """

    def in_language(self, field: str, language: str | None = None) -> str:
        """``field`` in ``language`` (default: the active language), else in the default language."""
        language = (language or translation.get_language() or settings.LANGUAGE_CODE).split("-")[0].lower()
        if language != settings.LANGUAGE_CODE.split("-")[0]:
            value = getattr(self, f"{field}_{language}", "")
            if value:
                return value
        return getattr(self, field)


class Category(Translated, models.Model):
    """A global topic of messages. Opt-out by default; ``opt_in`` ones reach explicit subscribers only."""

    name = models.CharField(max_length=150)
    name_fr = models.CharField(_("name (French)"), max_length=150, blank=True, default="", db_default="")
    slug = models.SlugField(unique=True)
    description = models.TextField(blank=True)
    description_fr = models.TextField(_("description (French)"), blank=True, default="", db_default="")
    public = models.BooleanField(default=True, help_text=_("Shown on the public preference page."))
    opt_in = models.BooleanField(
        default=False, help_text=_("Only contacts who subscribed explicitly receive its messages.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name


class SubscriptionStatus(models.TextChoices):
    SUBSCRIBED = "subscribed", _("Subscribed")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")


class CategorySubscription(models.Model):
    Status = SubscriptionStatus

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="category_subscriptions")
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="subscriptions")
    status = models.CharField(max_length=12, choices=SubscriptionStatus.choices)
    source = models.CharField(max_length=150)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "category"], name="catsub_unique_contact_category"),
            models.CheckConstraint(name="catsub_status_known", condition=Q(status__in=SubscriptionStatus.values)),
        ]
        indexes = [models.Index(fields=["category", "status"], name="catsub_category_status_idx")]

    def __str__(self) -> str:
        return f"{self.contact} — {self.category}: {self.status}"


class Segment(Translated, models.Model):
    """A group of contacts: static (members added one by one) or dynamic (``filter`` set: members by rule).

    A dynamic segment's members are materialised in ``SegmentMembership`` by ``segment_rebuild``
    and kept current per contact by ``contact_segments_refresh`` (docs/segments.md).
    """

    name = models.CharField(max_length=150)
    name_fr = models.CharField(_("name (French)"), max_length=150, blank=True, default="", db_default="")
    slug = models.SlugField(unique=True)
    description = models.TextField(blank=True)
    description_fr = models.TextField(_("description (French)"), blank=True, default="", db_default="")
    public = models.BooleanField(default=False, help_text=_("Shown on the public preference page."))
    public_name = models.CharField(
        max_length=150, blank=True, help_text=_("The name contacts see; the name is used when empty.")
    )
    public_name_fr = models.CharField(_("public name (French)"), max_length=150, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)
    # A validated filter (contacts.segment_filter); NULL: a static segment.
    filter = models.JSONField(null=True, blank=True)
    # The last rebuild: when it finished, how long it took, how many members it added and removed.
    rebuilt_at = models.DateTimeField(null=True, blank=True)
    rebuild_seconds = models.FloatField(null=True, blank=True)
    rebuild_added = models.PositiveIntegerField(null=True, blank=True)
    rebuild_removed = models.PositiveIntegerField(null=True, blank=True)
    # When staff last asked for a rebuild: a rebuild is pending while this is after ``rebuilt_at``.
    rebuild_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def dynamic(self) -> bool:
        return self.filter is not None

    @property
    def rebuild_pending(self) -> bool:
        requested = self.rebuild_requested_at
        return requested is not None and (self.rebuilt_at is None or requested > self.rebuilt_at)

    @property
    def display_public_name(self) -> str:
        """The name contacts see, in the active language: its public name, else its name."""
        return self.in_language("public_name") or self.in_language("name")


@receiver(pre_delete, sender=Segment, dispatch_uid="contacts.segment_targeted_guard")
def segment_targeted_guard(sender, instance: Segment, **kwargs) -> None:
    """PROTECT for the message → segment link: a cascade would silently shrink the messages' audience."""
    targeting = list(instance.messages.all()[:10])  # ``messages``: the reverse name given by messaging
    if targeting:
        raise models.ProtectedError(
            f"Segment {instance.pk} is a source segment of messages; segment_delete(detach_messages=True) removes it.",
            set(targeting),
        )


class MembershipOrigin(models.TextChoices):
    FILTER = "filter", _("Filter")
    MANUAL = "manual", _("Added by hand")


class SegmentMembership(models.Model):
    """A contact in a segment. ``removed`` members left on purpose: no filter rebuild adds them back.

    ``origin``: how the member came in. ``filter`` rows come and go with the segment's filter;
    ``manual`` ones (staff, API, import) stay when the filter stops matching. How a member is
    shown (``how``) is ``removed`` first, whatever the origin.
    """

    Origin = MembershipOrigin
    REMOVED = "removed"

    # No single-column indexes: the unique (contact, segment) and (segment, removed, contact) lead with them.
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="segment_memberships", db_index=False)
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    removed = models.BooleanField(default=False)
    # A database default too: rows written by raw SQL (seeding, imports by COPY) are manual.
    origin = models.CharField(
        max_length=6, choices=MembershipOrigin.choices, default=MembershipOrigin.MANUAL, db_default=MembershipOrigin.MANUAL
    )
    source = models.CharField(max_length=150)
    added_at = models.DateTimeField(auto_now_add=True)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "segment"], name="segmember_unique_contact_segment"),
            models.CheckConstraint(name="segmember_origin_known", condition=Q(origin__in=MembershipOrigin.values)),
        ]
        indexes = [models.Index(fields=["segment", "removed", "contact"], name="segmember_segment_idx")]

    def __str__(self) -> str:
        return f"{self.contact} in {self.segment}{' (removed)' if self.removed else ''}"

    @property
    def how(self) -> str:
        return self.REMOVED if self.removed else self.origin


class PreferenceChangeQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("The preference history is append-only.")

    def delete(self):
        raise TypeError("The preference history is append-only.")


class ChangeKind(models.TextChoices):
    DNC = "dnc", _("Do not contact")
    FREQUENCY = "frequency", _("Frequency cap")
    PAUSE = "pause", _("Pause")
    PREFERRED_CHANNEL = "preferred_channel", _("Preferred channel")
    CATEGORY = "category", _("Category")
    SEGMENT = "segment", _("Segment")
    FIELD = "field", _("Custom field")


class PreferenceChange(models.Model):
    """One immutable row of the audit history: what changed, from what, to what, by whom, from where."""

    Kind = ChangeKind

    # No single-column index: ``prefchange_contact_idx`` (contact, -created_at) leads with it.
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="preference_changes", db_index=False)
    kind = models.CharField(max_length=20, choices=ChangeKind.choices)
    # Partial indexes (``prefchange_channel_idx``, ``prefchange_category_idx``): most rows name
    # neither, and indexing their NULLs cost a filter's first build as much as the rest of its inserts.
    channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    segment = models.ForeignKey(Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # What the change concerned, kept readable after a category or segment is deleted.
    subject = models.CharField(max_length=150, blank=True)
    old_value = models.JSONField(null=True, blank=True)
    new_value = models.JSONField(null=True, blank=True)
    source = models.CharField(max_length=150)
    # The send whose link or event caused the change; an id because contacts never imports messaging.
    send_id = models.BigIntegerField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = PreferenceChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["contact", "-created_at"], name="prefchange_contact_idx"),
            # What a message or dispatch cost reads the rows its sends caused; most rows name no send.
            models.Index(fields=["send_id"], name="prefchange_send_idx", condition=Q(send_id__isnull=False)),
            models.Index(fields=["channel"], name="prefchange_channel_idx", condition=Q(channel__isnull=False)),
            models.Index(fields=["category"], name="prefchange_category_idx", condition=Q(category__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(name="prefchange_kind_known", condition=Q(kind__in=ChangeKind.values)),
        ]

    def __str__(self) -> str:
        return f"{self.contact}: {self.get_kind_display()} {self.old_value!r} → {self.new_value!r}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("The preference history is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The preference history is append-only.")


class StaffChangeQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("The staff audit is append-only.")

    def delete(self):
        raise TypeError("The staff audit is append-only.")


class BulkActionKind(models.TextChoices):
    SEGMENT_ADD = "segment_add", _("Add to a segment")
    SEGMENT_REMOVE = "segment_remove", _("Remove from a segment")
    DNC_SET = "dnc_set", _("Set do-not-contact (staff)")
    DNC_CLEAR = "dnc_clear", _("Clear do-not-contact set by staff")


class BulkActionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for a worker")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")


class BulkAction(models.Model):
    """One staff action applied to every contact of a filtered list, contact by contact through
    the services (the same history rows as the single action). ``filters`` are the list's, as
    ``contacts.selectors.contact_list_filtered`` reads them; progress moves by contact id, so a
    job taken over after a crash resumes after the last contact it finished."""

    Kind = BulkActionKind
    Status = BulkActionStatus

    kind = models.CharField(max_length=20, choices=BulkActionKind.choices)
    segment = models.ForeignKey(Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    filters = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    last_contact_id = models.BigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=BulkActionStatus.choices, default=BulkActionStatus.PENDING)
    actor = models.CharField(max_length=150)  # the username: history rows say "staff:<actor>"
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(name="bulkaction_kind_known", condition=Q(kind__in=BulkActionKind.values)),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.total})"

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * self.done / self.total))


class StaffChangeAction(models.TextChoices):
    CREATED = "created", _("created")
    UPDATED = "updated", _("changed")
    DELETED = "deleted", _("deleted")
    ARCHIVED = "archived", _("archived")
    CANCELLED = "cancelled", _("deferred sends cancelled")
    EXPORTED = "exported", _("exported")


class StaffChange(models.Model):
    """One immutable row of the staff audit: who changed which object, when, and each field's old → new value.

    The object is named by a string kind and an id (not a foreign key): ``contacts`` never imports
    ``messaging``, messages are audited here too, and a row outlives the object it describes.
    """

    Action = StaffChangeAction

    actor = models.CharField(max_length=150)  # the username, kept when the user is deleted
    subject_type = models.CharField(max_length=40)
    subject_id = models.BigIntegerField(null=True, blank=True)
    subject_label = models.CharField(max_length=200)
    action = models.CharField(max_length=20, choices=StaffChangeAction.choices)
    # {"field": [old, new]}: JSON values as the staff pages show them (names, ISO dates).
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = StaffChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["subject_type", "subject_id", "-created_at"], name="staffchange_subject_idx")]
        constraints = [
            models.CheckConstraint(name="staffchange_action_known", condition=Q(action__in=StaffChangeAction.values)),
        ]

    def __str__(self) -> str:
        return f"{self.actor}: {self.subject_type} {self.subject_label} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("The staff audit is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The staff audit is append-only.")


# What the public page may show, each a switch of the global settings a message can override.
PAGE_SWITCHES = (
    "show_preferences",
    "show_frequency",
    "show_pause",
    "show_preferred_channel",
    "show_categories",
    "show_segments",
)
PAGE_TEXTS = ("unsubscribe_text", "resubscribe_text")


class PreferenceSettings(models.Model):
    """The one row of global settings staff edit: what the public page shows unless a message overrides it.

    Global default frequency caps are per channel and live on ``Channel`` (see docs/decisions.md).
    """

    show_preferences = models.BooleanField(
        default=True, help_text=_("Off: the link shows a plain unsubscribe page.")
    )
    show_frequency = models.BooleanField(default=True)
    show_pause = models.BooleanField(default=True)
    show_preferred_channel = models.BooleanField(default=True)
    show_categories = models.BooleanField(default=True)
    show_segments = models.BooleanField(default=False)
    # Empty texts mean the built-in wording, translated into each contact's language.
    unsubscribe_text = models.TextField(blank=True)
    resubscribe_text = models.TextField(blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("preference settings")
        constraints = [models.CheckConstraint(name="prefsettings_singleton", condition=Q(pk=1))]

    def __str__(self) -> str:
        return str(_("Preference settings"))

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> PreferenceSettings:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


class ImportStatus(models.TextChoices):
    MAPPING = "mapping", _("Waiting for the column mapping")
    CHECKING = "checking", _("Dry run in progress")
    CHECKED = "checked", _("Dry run done")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Imported")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed")


class ContactImport(models.Model):
    """One uploaded CSV file on its way in: its mapping, the dry run's counts, then the import's.

    ``rows_done`` is the checkpoint: it moves in the same transaction as the rows of each chunk,
    so a worker that dies resumes after the last committed chunk and never writes a row twice.
    """

    Status = ImportStatus
    ACTIVE = (ImportStatus.MAPPING, ImportStatus.CHECKING, ImportStatus.CHECKED, ImportStatus.IMPORTING)

    class Match(models.TextChoices):
        EMAIL = "email", _("Email address")
        PHONE = "phone", _("Phone number")

    class Policy(models.TextChoices):
        EMPTY_ONLY = "empty_only", _("Fill empty fields only")
        OVERWRITE = "overwrite", _("Overwrite with the file's values")
        SKIP = "skip", _("Leave existing contacts alone")

    file_name = models.CharField(max_length=255)
    stored_path = models.CharField(max_length=500)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    encoding = models.CharField(max_length=20)
    delimiter = models.CharField(max_length=1)
    header = models.JSONField(default=list)
    mapping = models.JSONField(default=list, blank=True)  # one target per column, see contacts.imports.mapping
    match_on = models.CharField(max_length=5, choices=Match.choices, default=Match.EMAIL)
    policy = models.CharField(max_length=10, choices=Policy.choices, default=Policy.EMPTY_ONLY)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.MAPPING)
    cancel_requested = models.BooleanField(default=False)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    check_counts = models.JSONField(default=dict, blank=True)
    import_counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One import at a time per file: a second upload of the same bytes waits for the first.
            models.UniqueConstraint(
                fields=["sha256"], condition=Q(status__in=["mapping", "checking", "checked", "importing"]),
                name="contactimport_one_active_per_file",
            ),
            models.CheckConstraint(name="contactimport_status_known", condition=Q(status__in=ImportStatus.values)),
        ]

    def __str__(self) -> str:
        return f"Import {self.pk}: {self.file_name}"

    @property
    def source_label(self) -> str:
        return f"import:{self.pk}"

    @property
    def running(self) -> bool:
        return self.status in (ImportStatus.CHECKING, ImportStatus.IMPORTING)

    @property
    def progress(self) -> int:
        return min(100, round(100 * self.rows_done / self.rows_total)) if self.rows_total else 0


class ImportProblem(models.Model):
    """One line of an import's report: a rejected row, or a row whose opt-out was kept against the file."""

    class Phase(models.TextChoices):
        CHECK = "check", _("Dry run")
        IMPORT = "import", _("Import")

    class Kind(models.TextChoices):
        REJECTED = "rejected", _("Row rejected")
        KEPT = "kept", _("Opt-out kept")

    contact_import = models.ForeignKey(ContactImport, on_delete=models.CASCADE, related_name="problems")
    phase = models.CharField(max_length=6, choices=Phase.choices)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    line = models.PositiveIntegerField()
    column = models.CharField(max_length=200, blank=True)
    value = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=300)

    class Meta:
        ordering = ["line", "id"]
        indexes = [models.Index(fields=["contact_import", "phase", "line"], name="importproblem_report_idx")]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class ImportMapping(models.Model):
    """The mapping last used for a header, offered again for the next file with the same columns."""

    header_key = models.CharField(max_length=64, unique=True)
    mapping = models.JSONField(default=list)
    match_on = models.CharField(max_length=5, default="email")
    policy = models.CharField(max_length=10, default="empty_only")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.header_key


class StaffPreference(models.Model):
    """A staff user's own settings for the staff pages: the time zone dates are shown in."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_preference")
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True, help_text=_("Empty: the server's zone."))

    def __str__(self) -> str:
        return f"{self.user} ({self.time_zone or 'server zone'})"

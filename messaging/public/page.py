"""What a contact's public page shows, read in three queries plus the send's own whatever the
number of channels, categories and segments, and what its form says in the SPEC §6 shape."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import F, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from contacts.models import (
    PAGE_SWITCHES,
    PAGE_TEXTS,
    Channel,
    Contact,
    ContactField,
    DoNotContact,
    PreferenceSettings,
)
from contacts.rules import MEMBER, category_receives, dnc_locked
from contacts.forms import channel_choice, error_target
from contacts.selectors import contact_preference_state
from contacts.services.channels import dnc_locked_message
from contacts.services.fields import field_value_display
from messaging import pages as blocks
from messaging.models import Message, PreferencePageVersion, Send
from messaging.public.tokens import send_id_from_token
from messaging.sql import sql_compose

MAX_SEND_ID = 2**63 - 1
# The seeded channels' names, so that the page shows them in the contact's language.
CHANNEL_NAMES = (gettext_noop("Email"), gettext_noop("SMS"))


def channel_label(channel: Channel) -> str:
    return _(channel.name)


# --- The send a link names: one query, every public request starts here -------------------------

def _columns(model, names) -> list[str]:
    return [model._meta.get_field(name).column for name in names]


def _fields(model, *names) -> tuple[str, ...]:
    """The named fields in the model's order, the order ``Model.from_db`` expects them in."""
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname in names)


SEND_FIELDS = _fields(Send, "id", "message_id", "contact_id", "channel_id")
MESSAGE_FIELDS = _fields(Message, "id", "category_id", "preference_page_id", *PAGE_SWITCHES, *PAGE_TEXTS)
SETTINGS_FIELDS = _fields(PreferenceSettings, *PAGE_SWITCHES, *PAGE_TEXTS)
CONTACT_FIELDS = _fields(Contact, "id", "locale", "fields", *Channel.AddressField.values)
CHANNEL_FIELDS = _fields(Channel, "id", "slug", "name", "address_field")
FIELD_DEFINITION_FIELDS = _fields(ContactField, "id", "key", "label", "label_fr", "type")


def _select(alias: str, model, names) -> str:
    return ", ".join(f"{alias}.{column}" for column in _columns(model, names))


# The send with what its page needs of the message, the contact, the channel and the settings row
# (a LEFT JOIN: a GET reads the row without creating it, and a missing row means the defaults), and
# the custom fields contacts may see: one row per such field (one row when there is none), so the
# page reads them without a query of its own.
SEND_SQL = sql_compose(
    """
    SELECT {send}, {message}, {contact}, {channel}, ps.id, {settings}, {field}
    FROM {sends} s
    JOIN {messages} m ON m.id = s.message_id
    JOIN {contacts} c ON c.id = s.contact_id
    JOIN {channels} ch ON ch.id = s.channel_id
    LEFT JOIN {preference_settings} ps ON ps.id = 1
    LEFT JOIN {contact_fields} cf ON cf.public
    WHERE s.id = %s
    ORDER BY cf.position, cf.key
    """,
    send=_select("s", Send, SEND_FIELDS),
    message=_select("m", Message, MESSAGE_FIELDS),
    contact=_select("c", Contact, CONTACT_FIELDS),
    channel=_select("ch", Channel, CHANNEL_FIELDS),
    settings=_select("ps", PreferenceSettings, SETTINGS_FIELDS),
    field=_select("cf", ContactField, FIELD_DEFINITION_FIELDS),
)


def _instance(model, names, values):
    """A model instance loaded from a row, its other fields deferred (the ORM's own ``.only()``)."""
    return model.from_db("default", list(names), list(values))


def send_for_token(token: str) -> Send | None:
    """The send a link names, with its message, contact, channel and the page switches in effect;
    None for any bad token. One query, no ORM compilation: every public request starts here."""
    send_id = send_id_from_token(token)
    if send_id is None or send_id > MAX_SEND_ID:
        return None
    with connection.cursor() as cursor:
        cursor.execute(SEND_SQL, [send_id])
        rows = cursor.fetchall()
    if not rows:
        return None
    values = iter(rows[0])
    take = lambda names: [next(values) for _ in names]  # noqa: E731
    send = _instance(Send, SEND_FIELDS, take(SEND_FIELDS))
    send.message = _instance(Message, MESSAGE_FIELDS, take(MESSAGE_FIELDS))
    send.contact = _instance(Contact, CONTACT_FIELDS, take(CONTACT_FIELDS))
    send.channel = _instance(Channel, CHANNEL_FIELDS, take(CHANNEL_FIELDS))
    settings_id = next(values)
    defaults = PreferenceSettings(**dict(zip(SETTINGS_FIELDS, take(SETTINGS_FIELDS)))) if settings_id else PreferenceSettings()
    send.switches = {name: bool(value) if name in PAGE_SWITCHES else value
                     for name, value in send.message.page_switches(defaults).items()}
    if isinstance(send.contact.fields, str):  # a raw cursor hands JSON over as text
        send.contact.fields = json.loads(send.contact.fields)
    field_start = len(rows[0]) - len(FIELD_DEFINITION_FIELDS)
    send.public_fields = [_instance(ContactField, FIELD_DEFINITION_FIELDS, row[field_start:])
                          for row in rows if row[field_start] is not None]
    return send


# --- The page -----------------------------------------------------------------------------------


@dataclass
class ChannelRow:
    """One channel on the page: the values its fields show and the errors next to them."""

    channel: Channel
    dnc_reason: str | None
    receives: bool = True
    cap_number: str = ""
    cap_unit: str = ""
    pause_from: str = ""
    pause_to: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return self.channel.slug

    @property
    def label(self) -> str:
        return channel_label(self.channel)

    @property
    def locked(self) -> bool:
        """Bounced or complained: only staff can lift it, the contact cannot tick it again."""
        return dnc_locked(self.dnc_reason)

    @property
    def locked_message(self) -> str:
        return dnc_locked_message(DoNotContact(reason=self.dnc_reason)) if self.locked else ""

    def field_errors(self, name: str) -> list[str]:
        return self.errors.get(name, [])

    # Named accessors for the templates; ``errors`` is keyed by ``contacts.forms.error_target``'s inputs.
    @property
    def subscribed_errors(self):
        return self.field_errors("subscribed")

    @property
    def number_errors(self):
        return self.field_errors("cap_number")

    @property
    def unit_errors(self):
        return self.field_errors("cap_unit")

    @property
    def from_errors(self):
        return self.field_errors("pause_from")

    @property
    def to_errors(self):
        return self.field_errors("pause_to")


@dataclass
class Choice:
    """A category or segment tick box."""

    slug: str
    label: str
    description: str
    checked: bool
    errors: list[str] = field(default_factory=list)
    highlight: bool = False  # the message's own category


@dataclass
class PublicPage:
    send: Send
    switches: dict
    channels: list[ChannelRow] = field(default_factory=list)
    categories: list[Choice] = field(default_factory=list)
    segments: list[Choice] = field(default_factory=list)
    preferred_channel: str = ""
    preferred_errors: list[str] = field(default_factory=list)
    general_errors: list[str] = field(default_factory=list)
    # A designed page's blocks in the contact's language; None for the page built from the switches.
    blocks: list[dict] | None = None
    design: object = None  # ``Design``: the designed page's branding
    # The custom fields contacts may see that this contact holds: (label, value), in their language.
    details: list[tuple[str, str]] = field(default_factory=list)

    @property
    def contact(self):
        return self.send.contact

    @property
    def send_channel(self) -> ChannelRow:
        return next(row for row in self.channels if row.slug == self.send.channel.slug)

    @property
    def kinds(self) -> set[str]:
        return {block["kind"] for block in self.blocks or ()}

    @property
    def confirmation_text(self) -> str:
        return next((block["text"] for block in self.blocks or () if block["kind"] == blocks.CONFIRMATION), "")

    @property
    def show(self) -> dict[str, bool]:
        if self.blocks is not None:
            # A designed page shows exactly its blocks (and only those are read back by a save).
            kinds = self.kinds
            return {
                "channels": blocks.CHANNELS in kinds,
                "pause": blocks.PAUSE in kinds,
                "preferred": blocks.PREFERRED in kinds,
                "categories": blocks.CATEGORIES in kinds and bool(self.categories),
                "segments": blocks.SEGMENTS in kinds and bool(self.segments),
            }
        on = self.switches["show_preferences"]
        return {
            "channels": on and self.switches["show_frequency"],
            "pause": on and self.switches["show_pause"],
            "preferred": on and self.switches["show_preferred_channel"],
            "categories": on and self.switches["show_categories"] and bool(self.categories),
            "segments": on and self.switches["show_segments"] and bool(self.segments),
        }

    @property
    def has_form(self) -> bool:
        return any(self.show.values())

    def fill(self, form) -> None:
        """Show what the contact submitted instead of what is stored (a form re-shown with errors)."""
        show = self.show
        for row in self.channels:
            path = f"channels.{row.slug}"
            if show["channels"]:
                if not row.locked:
                    row.receives = form.get(f"{path}.subscribed") == "on"
                row.cap_number = form.get(f"{path}.frequency.number", "")
                row.cap_unit = form.get(f"{path}.frequency.unit", "")
            if show["pause"]:
                row.pause_from = form.get(f"{path}.pause.from", "")
                row.pause_to = form.get(f"{path}.pause.to", "")
        if show["preferred"]:
            self.preferred_channel = form.get("preferred_channel", "")
        for area in ("categories", "segments"):
            if show[area]:
                chosen = set(form.getlist(area))
                for choice in getattr(self, area):
                    choice.checked = choice.slug in chosen

    def place_errors(self, errors: dict[str, list[str]]) -> None:
        """Put each message next to its field; messages for fields not on the page go to the top."""
        show = self.show
        rows = {row.slug: row for row in self.channels}
        choices = {area: {c.slug: c for c in getattr(self, area)} for area in ("categories", "segments")}
        for path, messages in errors.items():
            area, slug, field_name = error_target(path) or ("", None, None)
            target = None
            if area == "channels" and slug in rows:
                if show["pause" if field_name.startswith("pause") else "channels"] or field_name == "subscribed":
                    target = rows[slug].errors.setdefault(field_name, [])
            elif area == "preferred_channel" and show["preferred"]:
                target = self.preferred_errors
            elif area in choices and show[area] and slug in choices[area]:
                target = choices[area][slug].errors
            (self.general_errors if target is None else target).extend(messages)


def public_page_load(send: Send) -> PublicPage:
    """Everything the page shows, pre-filled, read through ``contacts.selectors`` like the staff
    modal. Only channels the contact has an address for are offered (plus the send's own): the
    others could never be used."""
    contact = send.contact
    state = contact_preference_state(contact=contact, public_only=True)
    design = page_design(send)
    page = PublicPage(send=send, switches=send.switches, blocks=None if design is None else design.blocks, design=design)
    for channel in state.channels:
        if not contact.address_for(channel) and channel.pk != send.channel_id:
            continue
        reason, pref = state.dnc_reasons.get(channel.slug), state.preferences.get(channel.slug)
        row = ChannelRow(channel=channel, dnc_reason=reason, receives=reason is None)
        if pref is not None:
            row.cap_number = str(pref.cap_number or "")
            row.cap_unit = pref.cap_unit or ""
            row.pause_from = pref.pause_from.isoformat() if pref.pause_from else ""
            row.pause_to = pref.pause_to.isoformat() if pref.pause_to else ""
            if pref.preferred:
                page.preferred_channel = channel.slug
        page.channels.append(row)
    chosen = {block["kind"]: set(block.get("items") or ()) for block in page.blocks or ()}
    page.categories = [
        # The state the contact actually has (``contacts.rules``): a new opt-out category shows ticked.
        Choice(c.slug, c.in_language("name"), c.in_language("description"), category_receives(c, c.subscription_status),
               highlight=c.pk == send.message.category_id)
        for c in state.categories
        if page.blocks is None or not chosen.get(blocks.CATEGORIES) or c.pk in chosen[blocks.CATEGORIES]
    ]
    page.segments = [
        Choice(s.slug, s.display_public_name, "", s.membership == MEMBER)
        for s in state.segments
        if page.blocks is None or s.pk in chosen.get(blocks.SEGMENTS, ())
    ]
    page.details = contact_details(send)
    return page


def contact_details(send: Send) -> list[tuple[str, str]]:
    """The custom fields marked "contacts may see it" that the contact holds a value of, in the
    definitions' order: the label in the active language and the value formatted for it."""
    values = send.contact.fields or {}
    definitions = getattr(send, "public_fields", None)
    if definitions is None:  # a send not read by ``send_for_token`` (the staff preview's)
        definitions = list(ContactField.objects.filter(public=True))
    return [
        (definition.in_language("label"), field_value_display(definition, values[definition.key]))
        for definition in definitions
        if values.get(definition.key) is not None
    ]


@dataclass
class Design:
    """A designed page in the contact's language: its blocks and its branding."""

    page_id: int
    blocks: list[dict]
    logo: str = ""
    background: str = ""
    text: str = ""
    footer: str = ""
    version: str = ""  # changes whenever the page does: the stylesheet's and logo's URLs carry it


def page_design(send: Send) -> Design | None:
    """The message's page in the contact's language, else in the page's default language (never
    another page's); None when the message has no page. One query."""
    page_id = send.message.preference_page_id
    if page_id is None:
        return None
    versions = list(
        PreferencePageVersion.objects.filter(page_id=page_id)
        .filter(Q(language=send.contact.locale) | Q(language=F("page__default_language")))
        .select_related("page")
        .only("language", "blocks", "page__logo", "page__brand_background", "page__brand_text",
              "page__footer_text", "page__updated_at")
    )
    version = next((v for v in versions if v.language == send.contact.locale), versions[0] if versions else None)
    if version is None:
        return Design(page_id=page_id, blocks=[])
    page = version.page
    return Design(page_id=page_id, blocks=version.blocks, logo=page.logo.name, background=page.brand_background,
                  text=page.brand_text, footer=page.footer_text, version=str(int(page.updated_at.timestamp())))


def page_blocks(send: Send) -> list[dict] | None:
    design = page_design(send)
    return None if design is None else design.blocks


def posted_preferences(page: PublicPage, form) -> dict:
    """The SPEC §6 shape of what the form says, for the areas shown only: a hidden area is never touched."""
    data: dict = {}
    show = page.show
    channels: dict = {}
    for row in page.channels:
        path = f"channels.{row.slug}"
        ticked = form.get(f"{path}.subscribed") == "on"
        number = form.get(f"{path}.frequency.number", "").strip()
        if number.isascii() and number.isdigit():
            number = int(number)
        spec = channel_choice(
            # A locked box cannot be ticked; if it was, the service says why.
            subscribed=ticked if show["channels"] and (not row.locked or ticked) else None,
            number=number,
            unit=form.get(f"{path}.frequency.unit", "").strip(),
            pause_from=form.get(f"{path}.pause.from", "").strip(),
            pause_to=form.get(f"{path}.pause.to", "").strip(),
            frequency=show["channels"],
            pause=show["pause"],
        )
        if spec:
            channels[row.slug] = spec
    if channels:
        data["channels"] = channels
    if show["preferred"]:
        data["preferred_channel"] = form.get("preferred_channel", "") or None
    if show["categories"]:
        chosen = set(form.getlist("categories"))
        data["categories"] = {c.slug: c.slug in chosen for c in page.categories}
    if show["segments"]:
        chosen = set(form.getlist("segments"))
        data["segments"] = {s.slug: s.slug in chosen for s in page.segments}
    return data


# --- Which address the page is about, masked --------------------------------------------------------

MASK = "•"
# E.164 country codes of two digits (the others have one — 1 and 7 — or three); enough to keep the code whole.
TWO_DIGIT_CODES = {
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48", "49",
    "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81", "82", "84",
    "86", "90", "91", "92", "93", "94", "95", "98",
}


def masked_address(address: str) -> str:
    """Enough of an address for the contact to recognise it, too little to learn it from a forwarded
    email: ``j•••@example.com``, ``+33 6•• •• •• 12``."""
    address = address.strip()
    if "@" in address:
        local, _, domain = address.rpartition("@")
        return f"{local[:1]}{MASK * 3}@{domain}"
    digits = "".join(ch for ch in address if ch.isdigit())
    if len(digits) < 6:
        return MASK * 3
    code = 1 if digits[0] in "17" else 2 if digits[:2] in TWO_DIGIT_CODES else 3
    national = digits[code:]
    shown = national[0] + MASK * (len(national) - 3) + national[-2:]
    # Pairs from the end, an odd digit joining the first group: 6•• •• •• 12.
    groups = [shown[max(0, end - 2):end] for end in range(len(shown), 0, -2)][::-1]
    if len(groups) > 1 and len(groups[0]) == 1:
        groups[1] = groups[0] + groups[1]
        groups = groups[1:]
    return f"+{digits[:code]} {' '.join(groups)}"

"""The contact's side (SPEC §4): the preference page and the unsubscribe link of every message.

A link names one send (``messaging.tokens``). GET only ever shows; every change is a POST that
goes through the ``contacts.services`` write path with the send, IP and user agent in the
history row. What a POST does is a small table from the button pressed to an action.
"""

from __future__ import annotations

import ipaddress
import re
import threading
from dataclasses import dataclass, field
from functools import wraps
from typing import Callable

from csp.decorators import csp
from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django_ratelimit.core import is_ratelimited

from contacts.models import (
    PAGE_SWITCHES,
    PAGE_TEXTS,
    CapUnit,
    Category,
    CategorySubscription,
    Channel,
    ChannelPreference,
    Contact,
    DoNotContact,
    PreferenceSettings,
    Segment,
    SegmentMembership,
)
from contacts.rules import category_receives
from contacts.services import (
    PreferencesInvalid,
    Source,
    channel_subscribe,
    channel_unsubscribe,
    contact_preferences_update,
)
from contacts.services.channels import MAX_CAP, dnc_locked_message
from messaging.models import Message, Send
from messaging.tokens import send_id_from_token

# No script at all, styles and images from this site only, never inside a frame.
PUBLIC_CSP = {
    "default-src": ["'none'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
    "base-uri": ["'none'"],
}
ONE_CLICK_FIELD, ONE_CLICK_VALUE = "List-Unsubscribe", "One-Click"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_SEND_ID = 2**63 - 1
# The seeded channels' names, so that the page shows them in the contact's language.
CHANNEL_NAMES = (gettext_noop("Email"), gettext_noop("SMS"))


def channel_label(channel: Channel) -> str:
    return _(channel.name)


def public_page(view: Callable) -> Callable:
    """What every public response carries: no caching, no referrer (the URL holds the token), a strict CSP.

    With ``Referrer-Policy: no-referrer`` browsers send ``Origin: null`` on the page's own form
    posts, which Django's CSRF check rejects; the public views are therefore CSRF-exempt. A forged
    cross-site POST would need the link's signed token, an unguessable secret of this one contact,
    which is what a CSRF token would add. The pages set no cookie at all.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        return response

    return never_cache(csp(PUBLIC_CSP)(wrapped))


def client_ip(request: HttpRequest) -> str | None:
    value = request.META.get(settings.RATELIMIT_IP_META_KEY, "").split(",")[0].strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def rate_limited(request: HttpRequest) -> bool:
    """Counts this request against the caller's IP; True once PUBLIC_RATELIMIT is exceeded."""
    return is_ratelimited(
        request, group="public-pages", key=lambda group, req: client_ip(req) or "unknown",
        rate=settings.PUBLIC_RATELIMIT, increment=True,
    )


# --- Reads: three plain queries whatever the number of channels, categories and segments --------

def _columns(model, names) -> list[str]:
    return [model._meta.get_field(name).column for name in names]


def _fields(model, *names) -> tuple[str, ...]:
    """The named fields in the model's order, the order ``Model.from_db`` expects them in."""
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname in names)


SEND_FIELDS = _fields(Send, "id", "message_id", "contact_id", "channel_id")
MESSAGE_FIELDS = _fields(Message, "id", *PAGE_SWITCHES, *PAGE_TEXTS)
SETTINGS_FIELDS = _fields(PreferenceSettings, *PAGE_SWITCHES, *PAGE_TEXTS)
CONTACT_FIELDS = _fields(Contact, "id", "locale", *Channel.AddressField.values)
CHANNEL_FIELDS = _fields(Channel, "id", "slug", "name", "address_field")


def _select(alias: str, model, names) -> str:
    return ", ".join(f"{alias}.{column}" for column in _columns(model, names))


# The send with what its page needs of the message, the contact, the channel and the settings row
# (a LEFT JOIN: a GET reads the row without creating it, and a missing row means the defaults).
SEND_SQL = f"""
    SELECT {_select("s", Send, SEND_FIELDS)}, {_select("m", Message, MESSAGE_FIELDS)},
           {_select("c", Contact, CONTACT_FIELDS)}, {_select("ch", Channel, CHANNEL_FIELDS)},
           ps.id, {_select("ps", PreferenceSettings, SETTINGS_FIELDS)}
    FROM {Send._meta.db_table} s
    JOIN {Message._meta.db_table} m ON m.id = s.message_id
    JOIN {Contact._meta.db_table} c ON c.id = s.contact_id
    JOIN {Channel._meta.db_table} ch ON ch.id = s.channel_id
    LEFT JOIN {PreferenceSettings._meta.db_table} ps ON ps.id = 1
    WHERE s.id = %s
"""
# Every channel with the contact's do-not-contact reason and preference row (both unique per channel).
CHANNELS_SQL = f"""
    SELECT {_select("ch", Channel, CHANNEL_FIELDS)}, d.reason,
           {_select("p", ChannelPreference, ("cap_number", "cap_unit", "pause_from", "pause_to", "preferred"))}
    FROM {Channel._meta.db_table} ch
    LEFT JOIN {DoNotContact._meta.db_table} d ON d.channel_id = ch.id AND d.contact_id = %s
    LEFT JOIN {ChannelPreference._meta.db_table} p ON p.channel_id = ch.id AND p.contact_id = %s
    ORDER BY ch.position, ch.slug
"""
# Public categories with the contact's choice, then public segments with the contact's membership.
CHOICES_SQL = f"""
    SELECT 'category', c.slug, c.name, c.description, c.opt_in, cs.status, NULL
    FROM {Category._meta.db_table} c
    LEFT JOIN {CategorySubscription._meta.db_table} cs ON cs.category_id = c.id AND cs.contact_id = %s
    WHERE c.public
    UNION ALL
    SELECT 'segment', s.slug, s.name, s.public_name, NULL, NULL, sm.removed
    FROM {Segment._meta.db_table} s
    LEFT JOIN {SegmentMembership._meta.db_table} sm ON sm.segment_id = s.id AND sm.contact_id = %s
    WHERE s.public
    ORDER BY 1, 3, 2
"""


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
        row = cursor.fetchone()
    if row is None:
        return None
    values = iter(row)
    take = lambda names: [next(values) for _ in names]  # noqa: E731
    send = _instance(Send, SEND_FIELDS, take(SEND_FIELDS))
    send.message = _instance(Message, MESSAGE_FIELDS, take(MESSAGE_FIELDS))
    send.contact = _instance(Contact, CONTACT_FIELDS, take(CONTACT_FIELDS))
    send.channel = _instance(Channel, CHANNEL_FIELDS, take(CHANNEL_FIELDS))
    settings_id = next(values)
    defaults = PreferenceSettings(**dict(zip(SETTINGS_FIELDS, take(SETTINGS_FIELDS)))) if settings_id else PreferenceSettings()
    send.switches = {name: bool(value) if name in PAGE_SWITCHES else value
                     for name, value in send.message.page_switches(defaults).items()}
    return send


def status_page(request, template: str, status: int, context: dict | None = None) -> HttpResponse:
    return render(request, template, context or {}, status=status)


def invalid_link(request) -> HttpResponse:
    return status_page(request, "public/invalid_link.html", 404)


def bad_request(request) -> HttpResponse:
    return status_page(request, "public/bad_request.html", 400)


def too_many_requests(request) -> HttpResponse:
    response = status_page(request, "public/rate_limited.html", 429)
    response["Retry-After"] = "60"
    return response


def posted_form(request):
    """The POSTed fields, or None when the body cannot be read as a form."""
    try:
        return request.POST
    except (MultiPartParserError, RequestDataTooBig, TooManyFieldsSent, UnicodeDecodeError):
        return None


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
        return self.dnc_reason is not None and self.dnc_reason not in DoNotContact.CLEARABLE

    @property
    def locked_message(self) -> str:
        return dnc_locked_message(DoNotContact(reason=self.dnc_reason)) if self.locked else ""

    def field_errors(self, name: str) -> list[str]:
        return self.errors.get(name, [])

    # Named accessors, since templates cannot look up the dotted error paths.
    @property
    def subscribed_errors(self):
        return self.field_errors("subscribed")

    @property
    def number_errors(self):
        return self.field_errors("frequency.number") + self.field_errors("frequency")

    @property
    def unit_errors(self):
        return self.field_errors("frequency.unit")

    @property
    def from_errors(self):
        return self.field_errors("pause.from") + self.field_errors("pause")

    @property
    def to_errors(self):
        return self.field_errors("pause.to")


@dataclass
class Choice:
    """A category or segment tick box."""

    slug: str
    label: str
    description: str
    checked: bool
    errors: list[str] = field(default_factory=list)


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

    @property
    def contact(self):
        return self.send.contact

    @property
    def send_channel(self) -> ChannelRow:
        return next(row for row in self.channels if row.slug == self.send.channel.slug)

    @property
    def show(self) -> dict[str, bool]:
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
            parts = path.split(".", 2)
            target = None
            if parts[0] == "channels" and len(parts) == 3 and parts[1] in rows:
                area = "pause" if parts[2].startswith("pause") else "channels"
                if show[area] or parts[2] == "subscribed":
                    target = rows[parts[1]].errors.setdefault(parts[2], [])
            elif parts[0] == "preferred_channel" and show["preferred"]:
                target = self.preferred_errors
            elif parts[0] in choices and len(parts) == 2 and show[parts[0]] and parts[1] in choices[parts[0]]:
                target = choices[parts[0]][parts[1]].errors
            (self.general_errors if target is None else target).extend(messages)


def public_page_load(send: Send) -> PublicPage:
    """Everything the page shows, pre-filled, in two queries whatever the number of rows. Only
    channels the contact has an address for are offered (plus the send's own): the others could
    never be used."""
    contact = send.contact
    page = PublicPage(send=send, switches=send.switches)
    with connection.cursor() as cursor:
        cursor.execute(CHANNELS_SQL, [contact.pk, contact.pk])
        channel_rows = cursor.fetchall()
        cursor.execute(CHOICES_SQL, [contact.pk, contact.pk])
        choice_rows = cursor.fetchall()
    for *channel_values, reason, cap_number, cap_unit, pause_from, pause_to, preferred in channel_rows:
        channel = _instance(Channel, CHANNEL_FIELDS, channel_values)
        if not contact.address_for(channel) and channel.pk != send.channel_id:
            continue
        row = ChannelRow(channel=channel, dnc_reason=reason, receives=reason is None)
        row.cap_number = str(cap_number or "")
        row.cap_unit = cap_unit or ""
        row.pause_from = str(pause_from or "")  # a date's str() is its ISO form
        row.pause_to = str(pause_to or "")
        if preferred:
            page.preferred_channel = channel.slug
        page.channels.append(row)
    for kind, slug, name, text, opt_in, status, removed in choice_rows:
        if kind == "category":
            category = Category(slug=slug, name=name, description=text, opt_in=bool(opt_in))
            page.categories.append(Choice(slug, name, text, category_receives(category, status)))
        else:
            segment = Segment(slug=slug, name=name, public_name=text)
            page.segments.append(Choice(slug, segment.display_public_name, "", removed is not None and not removed))
    return page


def posted_preferences(page: PublicPage, form) -> dict:
    """The SPEC §6 shape of what the form says, for the areas shown only: a hidden area is never touched."""
    data: dict = {}
    show = page.show
    channels: dict = {}
    for row in page.channels:
        path = f"channels.{row.slug}"
        spec: dict = {}
        if show["channels"]:
            ticked = form.get(f"{path}.subscribed") == "on"
            if not row.locked or ticked:  # a locked box cannot be ticked; if it was, the service says why
                spec["subscribed"] = ticked
            number = form.get(f"{path}.frequency.number", "").strip()
            unit = form.get(f"{path}.frequency.unit", "").strip()
            if number.isascii() and number.isdigit():
                number = int(number)
            spec["frequency"] = {"number": number, "unit": unit} if (number != "" or unit) else None
        if show["pause"]:
            start = form.get(f"{path}.pause.from", "").strip()
            end = form.get(f"{path}.pause.to", "").strip()
            spec["pause"] = {"from": start or None, "to": end or None} if (start or end) else None
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


# --- What a POST does: one action per button ----------------------------------------------------


@dataclass
class Outcome:
    confirmation: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)
    form: object = None  # the submitted form, re-shown when it had errors


def source_for(request, send: Send, label: str = "public_page") -> Source:
    return Source(
        label, send_id=send.pk, ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")
    )


def save_preferences(request, send: Send, form) -> Outcome:
    page = public_page_load(send)
    data = posted_preferences(page, form)
    try:
        contact_preferences_update(contact=page.contact, data=data, source=source_for(request, page.send), public_only=True)
    except PreferencesInvalid as invalid:
        return Outcome(errors=invalid.errors, form=form)
    return Outcome(confirmation=_("Your preferences are saved."))


def unsubscribe_channel(request, send: Send, form) -> Outcome:
    channel = send.channel
    channel_unsubscribe(contact=send.contact, channel=channel, source=source_for(request, send))
    return Outcome(
        confirmation=_("You are unsubscribed from %(channel)s messages. We will not send you any more.")
        % {"channel": channel_label(channel)}
    )


def unsubscribe_all(request, send: Send, form) -> Outcome:
    source = source_for(request, send)
    with transaction.atomic():
        for channel in Channel.objects.all():
            channel_unsubscribe(contact=send.contact, channel=channel, source=source)
    return Outcome(confirmation=_("You are unsubscribed from everything. We will not contact you any more."))


def resubscribe(request, send: Send, form) -> Outcome:
    channel = send.channel
    try:
        channel_subscribe(contact=send.contact, channel=channel, source=source_for(request, send))
    except PreferencesInvalid as invalid:
        return Outcome(errors=invalid.errors)
    return Outcome(
        confirmation=_("Welcome back: you will receive %(channel)s messages again.") % {"channel": channel_label(channel)}
    )


PAGE_ACTIONS: dict[str, Callable[..., Outcome]] = {
    "save": save_preferences,
    "unsubscribe": unsubscribe_channel,
    "unsubscribe_all": unsubscribe_all,
    "resubscribe": resubscribe,
}


class Slots:
    """The values that differ from one contact to the next on pages that otherwise look the same.

    Filled in directly (``shared=False``), a slot is its value. For a shared skeleton each slot is
    a numbered marker instead, and ``fill`` puts this contact's escaped values into the skeleton.
    """

    MARK = re.compile("\x00([0-9]+)\x00")

    def __init__(self, shared: bool):
        self.shared = shared
        self.values: list[str] = []

    def __call__(self, value: str) -> str:
        if not self.shared:
            return value
        self.values.append(conditional_escape(value))
        return mark_safe(f"\x00{len(self.values) - 1}\x00")

    def fill(self, skeleton: str) -> str:
        return self.MARK.sub(lambda match: self.values[int(match.group(1))], skeleton)


def attribute(on: bool, name: str) -> str:
    return f" {name}" if on else ""


def page_context(page: PublicPage, token: str, link: str, outcome: Outcome, slot: Slots) -> dict:
    """What the templates show, as plain data: everything but the slots is shared by every contact
    whose page looks the same, so that the whole context (less the slots) identifies the skeleton."""
    show = page.show
    send_row = page.send_channel
    channels = []
    for row in page.channels:
        channels.append({
            "slug": row.slug,
            "label": row.label,
            "locked": row.locked,
            "locked_message": row.locked_message,
            "checked": row.receives and not row.locked,
            "subscribed_errors": tuple(row.subscribed_errors),
            "number_errors": tuple(row.number_errors),
            "unit_errors": tuple(row.unit_errors),
            "from_errors": tuple(row.from_errors),
            "to_errors": tuple(row.to_errors),
            "cap_number": slot(row.cap_number) if show["channels"] else "",
            "units": tuple(
                (value, label, slot(attribute(row.cap_unit == value, "selected")))
                for value, label in (("", "—"), *((value, str(label)) for value, label in CapUnit.choices))
            ) if show["channels"] else (),
            "pause_from": slot(row.pause_from) if show["pause"] else "",
            "pause_to": slot(row.pause_to) if show["pause"] else "",
            "preferred": slot(attribute(page.preferred_channel == row.slug, "checked")) if show["preferred"] else "",
        })

    def choices(area: str) -> tuple:
        return tuple(
            {"slug": c.slug, "label": c.label, "description": c.description, "errors": tuple(c.errors),
             "checked": slot(attribute(c.checked, "checked"))}
            for c in getattr(page, area)
        ) if show[area] else ()

    return {
        "link": link,
        "show": show,
        "has_form": page.has_form,
        "status": {
            "channel": send_row.label,
            "locked": send_row.locked,
            "locked_message": send_row.locked_message,
            "unsubscribed": send_row.dnc_reason is not None,
        },
        "channels": channels,
        "categories": choices("categories"),
        "segments": choices("segments"),
        "no_preference": slot(attribute(not page.preferred_channel, "checked")) if show["preferred"] else "",
        "preferred_errors": tuple(page.preferred_errors),
        "general_errors": tuple(page.general_errors),
        "max_cap": MAX_CAP,
        "confirmation": outcome.confirmation,
        "has_errors": bool(outcome.errors),
        "unsubscribe_text": _page_text(page.switches["unsubscribe_text"]),
        "resubscribe_text": _page_text(page.switches["resubscribe_text"]),
        "preferences_url": slot(reverse("messaging:preferences", args=[token])),
        "unsubscribe_url": slot(reverse("messaging:unsubscribe", args=[token])),
    }


# Rendered skeletons by (template, language, shared context). The key holds every input of the
# page but the slots, so an entry never goes stale: a change of anything shown makes a new key.
SKELETONS: dict[tuple, str] = {}
SKELETONS_MAX = 512
_skeletons_lock = threading.Lock()


def render_page(request, template: str, context: dict, slot: Slots) -> HttpResponse:
    if not slot.shared:
        return render(request, template, context)
    key = (template, translation.get_language(), repr(context))
    skeleton = SKELETONS.get(key)
    if skeleton is None:
        skeleton = render_to_string(template, context)
        with _skeletons_lock:
            while len(SKELETONS) >= SKELETONS_MAX:
                SKELETONS.pop(next(iter(SKELETONS)))
            SKELETONS[key] = skeleton
    return HttpResponse(slot.fill(skeleton))


def show_page(request, send: Send, token: str, *, link: str, outcome: Outcome | None = None) -> HttpResponse:
    page = public_page_load(send)
    outcome = outcome or Outcome()
    if outcome.form is not None:
        page.fill(outcome.form)
    page.place_errors(outcome.errors)
    # A form shown again with its errors holds what was typed: rendered for this request only.
    slot = Slots(shared=outcome.form is None and not outcome.errors)
    context = page_context(page, token, link, outcome, slot)
    template = "public/preferences.html" if page.switches["show_preferences"] else "public/unsubscribe.html"
    return render_page(request, template, context, slot)


def _page_text(text: str) -> str:
    """A text staff wrote for the email footer, without the link placeholders that mean nothing on the page."""
    for placeholder in ("{unsubscribe_url}", "{preferences_url}", "{unsubscribe_text}"):
        text = text.replace(placeholder, "")
    return text.strip().rstrip(":").strip()


def in_contact_language(view: Callable) -> Callable:
    """Serve the page in the language of the contact the link names (the site default for bad links)."""

    @wraps(view)
    def wrapped(request, token: str):
        send = send_for_token(token)
        language = send.contact.locale if send is not None else settings.LANGUAGE_CODE
        with translation.override(language):
            request.LANGUAGE_CODE = translation.get_language()
            response = view(request, token, send)
        response["Content-Language"] = language
        return response

    return wrapped


@public_page
@csrf_exempt  # see public_page: the signed token in the URL is the secret a forged POST would need.
@in_contact_language
def preferences(request, token: str, send: Send | None = None) -> HttpResponse:
    """GET shows the page; POST runs the action of the button pressed, then shows the page again."""
    if request.method not in ("GET", "HEAD", "POST"):
        return bad_request(request)
    if rate_limited(request):
        return too_many_requests(request)
    if send is None:
        return invalid_link(request)
    if request.method == "POST":
        form = posted_form(request)
        action = PAGE_ACTIONS.get(form.get("action", "")) if form is not None else None
        if action is None:
            return bad_request(request)
        return show_page(request, send, token, link="preferences", outcome=action(request, send, form))
    return show_page(request, send, token, link="preferences")


def is_one_click(request) -> bool | None:
    """RFC 8058: a POST whose body is ``List-Unsubscribe=One-Click``, urlencoded or multipart.
    None when the body cannot be read at all."""
    content_type = request.content_type or ""
    if content_type in FORM_TYPES:
        form = posted_form(request)
        if form is None:
            return None
        return form.get(ONE_CLICK_FIELD) == ONE_CLICK_VALUE
    # Some senders of one-click omit the content type: accept the exact body as well.
    return request.body.strip() == f"{ONE_CLICK_FIELD}={ONE_CLICK_VALUE}".encode()


@public_page
@csrf_exempt  # RFC 8058: mailbox providers POST without cookies or a CSRF token; the token is the authority.
@in_contact_language
def unsubscribe(request, token: str, send: Send | None = None) -> HttpResponse:
    """The List-Unsubscribe URL. GET shows the page; a one-click POST, or the confirm button of the
    plain page, unsubscribes the send's channel and answers 200, never a redirect. Idempotent."""
    if request.method not in ("GET", "HEAD", "POST"):
        return bad_request(request)
    if request.method == "POST" and send is not None:
        one_click = is_one_click(request)
        form = posted_form(request) if request.content_type in FORM_TYPES else None
        if one_click or (form is not None and form.get("action") == "unsubscribe"):
            # Never rate limited: an unsubscribe from a real link must never be refused.
            outcome = unsubscribe_channel(request, send, form)
            if one_click:
                return render(request, "public/one_click_done.html", {"confirmation": outcome.confirmation})
            return show_page(request, send, token, link="unsubscribe", outcome=outcome)
    if rate_limited(request):
        return too_many_requests(request)
    if send is None:
        return invalid_link(request)
    if request.method == "POST":
        return bad_request(request)
    return show_page(request, send, token, link="unsubscribe")

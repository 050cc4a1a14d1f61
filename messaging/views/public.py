"""The contact's side (SPEC §4): the preference page and the unsubscribe link of every message.

A link names one send (``messaging.tokens``). GET only ever shows; every change is a POST that
goes through the ``contacts.services`` write path with the send, IP and user agent in the
history row. What a POST does is a small table from the button pressed to an action.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import wraps
from typing import Callable

from csp.decorators import csp
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django_ratelimit.core import is_ratelimited

from contacts.models import CapUnit, Channel, DoNotContact, PreferenceSettings
from contacts.rules import MEMBER, category_receives
from contacts.selectors import PreferenceState, contact_preference_state
from contacts.services import (
    PreferencesInvalid,
    Source,
    channel_subscribe,
    channel_unsubscribe,
    contact_preferences_update,
)
from contacts.services.channels import MAX_CAP, dnc_locked_message
from messaging.models import Send
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


def send_for_token(token: str) -> Send | None:
    """The send a link names, with its message, contact and channel; None for any bad token."""
    send_id = send_id_from_token(token)
    if send_id is None or send_id > MAX_SEND_ID:
        return None
    return (
        Send.objects.select_related("message", "contact", "channel")
        .filter(pk=send_id, channel__isnull=False)
        .first()
    )


def page_switches(send: Send) -> dict:
    """The message's switches over the global ones, read without creating the settings row (GET writes nothing)."""
    defaults = PreferenceSettings.objects.filter(pk=1).first() or PreferenceSettings()
    return send.message.page_switches(defaults)


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
    state: PreferenceState
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
    """Everything the page shows, pre-filled, in a constant number of queries. Only channels the
    contact has an address for are offered (plus the send's own): the others could never be used."""
    state = contact_preference_state(contact=send.contact, public_only=True)
    page = PublicPage(send=send, switches=page_switches(send), state=state)
    for channel in state.channels:
        if not send.contact.address_for(channel) and channel.pk != send.channel_id:
            continue
        pref = state.preferences.get(channel.slug)
        reason = state.dnc_reasons.get(channel.slug)
        row = ChannelRow(channel=channel, dnc_reason=reason, receives=reason is None)
        if pref is not None:
            row.cap_number = str(pref.cap_number or "")
            row.cap_unit = pref.cap_unit or ""
            row.pause_from = pref.pause_from.isoformat() if pref.pause_from else ""
            row.pause_to = pref.pause_to.isoformat() if pref.pause_to else ""
        page.channels.append(row)
    page.preferred_channel = state.preferred_channel or ""
    page.categories = [
        Choice(c.slug, c.name, c.description, category_receives(c, c.subscription_status)) for c in state.categories
    ]
    page.segments = [
        Choice(s.slug, s.display_public_name, "", s.membership == MEMBER) for s in state.segments
    ]
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


def deliveries_in_flight_wait(contact) -> None:
    """Return once no delivery is handing a message to this contact over (call it after the change
    committed). A delivery holds its ``sending`` rows locked from its do-not-contact check until
    they are sent; waiting for those locks means that when the response leaves, every delivery
    either finished before the unsubscribe or will see it (SPEC §4: effect before the response)."""
    with transaction.atomic():
        list(
            Send.objects.select_for_update(of=("self",))
            .filter(contact=contact, outcome=Send.Outcome.SENDING)
            .values_list("pk", flat=True)
        )


def save_preferences(request, send: Send, form) -> Outcome:
    page = public_page_load(send)
    data = posted_preferences(page, form)
    try:
        contact_preferences_update(contact=page.contact, data=data, source=source_for(request, page.send), public_only=True)
    except PreferencesInvalid as invalid:
        return Outcome(errors=invalid.errors, form=form)
    deliveries_in_flight_wait(send.contact)
    return Outcome(confirmation=_("Your preferences are saved."))


def unsubscribe_channel(request, send: Send, form) -> Outcome:
    channel = send.channel
    channel_unsubscribe(contact=send.contact, channel=channel, source=source_for(request, send))
    deliveries_in_flight_wait(send.contact)
    return Outcome(
        confirmation=_("You are unsubscribed from %(channel)s messages. We will not send you any more.")
        % {"channel": channel_label(channel)}
    )


def unsubscribe_all(request, send: Send, form) -> Outcome:
    source = source_for(request, send)
    with transaction.atomic():
        for channel in Channel.objects.all():
            channel_unsubscribe(contact=send.contact, channel=channel, source=source)
    deliveries_in_flight_wait(send.contact)
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


def show_page(request, send: Send, token: str, *, link: str, outcome: Outcome | None = None) -> HttpResponse:
    page = public_page_load(send)
    outcome = outcome or Outcome()
    if outcome.form is not None:
        page.fill(outcome.form)
    page.place_errors(outcome.errors)
    context = {
        "page": page,
        "token": token,
        "link": link,
        "show": page.show,
        "unit_choices": CapUnit.choices,
        "max_cap": MAX_CAP,
        "confirmation": outcome.confirmation,
        "has_errors": bool(outcome.errors),
        "unsubscribe_text": _page_text(page.switches["unsubscribe_text"]),
        "resubscribe_text": _page_text(page.switches["resubscribe_text"]),
    }
    template = "public/preferences.html" if page.switches["show_preferences"] else "public/unsubscribe.html"
    return render(request, template, context)


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

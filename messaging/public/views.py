"""The contact's side (SPEC §4): the preference page and the unsubscribe link of every message.

A link names one send (``messaging.public.tokens``). GET only ever shows; every change is a POST that
goes through the ``contacts.services`` write path with the send, IP and user agent in the
history row. What a POST does is a small table from the button pressed to an action.
"""

from __future__ import annotations

import re
import datetime
from functools import wraps
from typing import Callable

from csp.decorators import csp
from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.core.exceptions import RequestDataTooBig, SuspiciousFileOperation, TooManyFieldsSent
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django_ratelimit.core import is_ratelimited

from contacts.models import (
    Channel,
    DoNotContact,
    PreferenceChange,
)
from contacts.rules import contact_today
from contacts.services import (
    PreferencesInvalid,
    Source,
    channel_subscribe,
    channel_unsubscribe,
    contact_preferences_update,
)
from messaging.branding import COLOUR
from messaging.feedback import unsubscribe_feedback_record
from messaging.models import LeavingReasonChoice, PreferencePage, Send
from preference_center.client_ip import client_ip
from messaging.pages import SAVE, UNSUBSCRIBE, UNSUBSCRIBE_ALL
from messaging.public.page import channel_label, page_blocks, posted_preferences, public_page_load, send_for_token
from messaging.public.render import Outcome, show_page

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


def rate_limited(request: HttpRequest) -> bool:
    """Counts this request against the client's address (``client_ip``); True once PUBLIC_RATELIMIT is exceeded."""
    return is_ratelimited(request, group="public-pages", key="ip", rate=settings.PUBLIC_RATELIMIT, increment=True)


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


# --- What a POST does: one action per button ----------------------------------------------------


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
    return Outcome(confirmation=page.confirmation_text or _("Your preferences are saved."))


def page_offers(send: Send, action: str) -> bool:
    """Whether the send's page has the button of ``action``: a designed page without a save block,
    an "unsubscribe from all" block, or the channel's card (which holds the opt-down buttons) does
    not do it either, whatever a hand-made POST says."""
    needs = {SAVE: SAVE, UNSUBSCRIBE_ALL: UNSUBSCRIBE_ALL, "fewer": UNSUBSCRIBE, "pause_month": UNSUBSCRIBE}.get(action)
    if needs is None or send.message.preference_page_id is None:
        return True
    return needs in {block["kind"] for block in page_blocks(send)}


def _unsubscribe(request, send: Send, channels, label: str) -> tuple[list[str], list[int]]:
    """Put DNC on ``channels``: the slugs of those that had none (what an undo may lift) and the
    history rows of the events (what a reason is stored with)."""
    source = source_for(request, send, label)
    if label != "public_page":
        # One-click: no page to offer an undo or a question on, so none of their reads.
        for channel in channels:
            channel_unsubscribe(contact=send.contact, channel=channel, source=source)
        return [], []
    with transaction.atomic():
        already = set(DoNotContact.objects.filter(contact=send.contact).values_list("channel_id", flat=True))
        last = PreferenceChange.objects.filter(contact=send.contact).order_by("-pk").values_list("pk", flat=True).first()
        for channel in channels:
            channel_unsubscribe(contact=send.contact, channel=channel, source=source)
        events = list(PreferenceChange.objects.filter(
            contact=send.contact, kind=PreferenceChange.Kind.DNC, send_id=send.pk, pk__gt=last or 0,
        ).values_list("pk", flat=True))
    return [channel.slug for channel in channels if channel.pk not in already], events


def _left(send: Send, changed: list[str], events: list[int], confirmation: str) -> Outcome:
    """What the page shows after an unsubscribe on it: the undo button and the reason question."""
    return Outcome(
        confirmation=confirmation,
        undo=undo_token(send, changed) if changed else "",
        reason=reason_token(send, events) if events else "",
    )


def unsubscribe_channel(request, send: Send, form, *, label: str = "public_page") -> Outcome:
    channel = send.channel
    changed, events = _unsubscribe(request, send, [channel], label)
    confirmation = _("You are unsubscribed from %(channel)s messages. We will not send you any more.") % {
        "channel": channel_label(channel)
    }
    if label != "public_page":
        # One-click has no page to show a button or a question on.
        return Outcome(confirmation=confirmation)
    return _left(send, changed, events, confirmation)


def unsubscribe_all(request, send: Send, form) -> Outcome:
    changed, events = _unsubscribe(request, send, list(Channel.objects.all()), "public_page")
    return _left(send, changed, events, _("You are unsubscribed from everything. We will not contact you any more."))


# --- The reason for leaving: optional, asked once the unsubscribe is done ------------------------------

REASON_SALT = "messaging.public.reason"
REASON_SECONDS = 24 * 60 * 60


def reason_token(send: Send, events: list[int]) -> str:
    return signing.TimestampSigner(salt=REASON_SALT).sign_object({"s": send.pk, "e": events})


def leaving_reason(request, send: Send, form) -> Outcome:
    """Store the reason given with the events the page's unsubscribe made (the signed token says
    which); an empty answer stores nothing. Never changes a preference."""
    try:
        value = signing.TimestampSigner(salt=REASON_SALT).unsign_object(form.get("reason_token", ""), max_age=REASON_SECONDS)
        if value["s"] != send.pk:
            raise signing.BadSignature
        events = [int(event) for event in value["e"]]
    except (signing.BadSignature, TypeError, KeyError, ValueError):
        return Outcome(errors={"__all__": [_("This form has expired. Thank you all the same.")]})
    reason = form.get("reason", "")
    try:
        # A choice staff deactivated since the page was shown is no answer, like none ticked.
        unsubscribe_feedback_record(send=send, change_ids=events, choice_id=int(reason), text=form.get("reason_text", ""))
    except (ValueError, OverflowError, LeavingReasonChoice.DoesNotExist):
        return Outcome(confirmation=_("Thank you."))
    return Outcome(confirmation=_("Thank you for telling us."))


# --- Undo: a few minutes to take a page unsubscribe back ---------------------------------------------

UNDO_SALT = "messaging.public.undo"
UNDO_SECONDS = 10 * 60


def undo_token(send: Send, channels: list[str]) -> str:
    """Signed (Django's ``TimestampSigner``, a salt of its own): this send, the channels the
    unsubscribe changed, and when; ``undo`` accepts it for ``UNDO_SECONDS``."""
    return signing.TimestampSigner(salt=UNDO_SALT).sign_object({"s": send.pk, "c": channels})


def undo(request, send: Send, form) -> Outcome:
    """Lift the do-not-contact that this send's page unsubscribe put, within ``UNDO_SECONDS``;
    written to the history like any resubscribe (source ``public_page``, this send)."""
    try:
        value = signing.TimestampSigner(salt=UNDO_SALT).unsign_object(form.get("undo", ""), max_age=UNDO_SECONDS)
        if value["s"] != send.pk:
            raise signing.BadSignature
        slugs = [str(slug) for slug in value["c"]]
    except signing.SignatureExpired:
        return Outcome(errors={"__all__": [_("The time to undo has passed. You can still resubscribe below.")]})
    except (signing.BadSignature, TypeError, KeyError, ValueError):
        return Outcome(errors={"__all__": [_("This undo button is not valid.")]})
    source = source_for(request, send)
    channels = list(Channel.objects.filter(slug__in=slugs))
    try:
        with transaction.atomic():
            for channel in channels:
                channel_subscribe(contact=send.contact, channel=channel, source=source)
    except PreferencesInvalid as invalid:
        return Outcome(errors=invalid.errors)
    return Outcome(
        confirmation=_("Undone: you will receive %(channels)s messages again.")
        % {"channels": ", ".join(channel_label(channel) for channel in channels)}
    )


def resubscribe(request, send: Send, form) -> Outcome:
    channel = send.channel
    try:
        channel_subscribe(contact=send.contact, channel=channel, source=source_for(request, send))
    except PreferencesInvalid as invalid:
        return Outcome(errors=invalid.errors)
    return Outcome(
        confirmation=_("Welcome back: you will receive %(channel)s messages again.") % {"channel": channel_label(channel)}
    )


# --- Opting down instead of out: recorded as a save of the send's channel, never as an unsubscribe ----

FEWER_CHOICES = {"1-week": (1, "week"), "1-month": (1, "month"), "2-month": (2, "month")}
PAUSE_DAYS = 30


def _save_channel(request, send: Send, spec: dict) -> Outcome | None:
    try:
        contact_preferences_update(contact=send.contact, data={"channels": {send.channel.slug: spec}},
                                   source=source_for(request, send), public_only=True)
    except PreferencesInvalid as invalid:
        return Outcome(errors=invalid.errors)
    return None


def fewer_messages(request, send: Send, form) -> Outcome:
    """A cap the contact chooses on the send's channel (e.g. one a week), saved like the page's form."""
    choice = FEWER_CHOICES.get(form.get("fewer", ""))
    if choice is None:
        return Outcome(errors={"__all__": [_("Choose how many messages you want.")]})
    number, unit = choice
    failed = _save_channel(request, send, {"frequency": {"number": number, "unit": unit}})
    return failed or Outcome(confirmation=_("Saved: you will get fewer messages from us."))


def pause_month(request, send: Send, form) -> Outcome:
    """A pause of the send's channel from today (the contact's day) for 30 days, saved like the page's form."""
    today = contact_today(send.contact.time_zone, timezone.now())
    until = today + datetime.timedelta(days=PAUSE_DAYS - 1)
    failed = _save_channel(request, send, {"pause": {"from": today.isoformat(), "to": until.isoformat()}})
    return failed or Outcome(
        confirmation=_("Saved: we will send you nothing until %(date)s.") % {"date": date_format(until, "DATE_FORMAT")}
    )


PAGE_ACTIONS: dict[str, Callable[..., Outcome]] = {
    "fewer": fewer_messages,
    "pause_month": pause_month,
    "save": save_preferences,
    "unsubscribe": unsubscribe_channel,
    "unsubscribe_all": unsubscribe_all,
    "resubscribe": resubscribe,
    "undo": undo,
    "reason": leaving_reason,
}


def in_contact_language(view: Callable) -> Callable:
    """Serve the page in the language of the contact the link names; a bad link names no contact,
    so its page is in the browser's language (``Accept-Language``), else the site default."""

    @wraps(view)
    def wrapped(request, token: str):
        send = send_for_token(token)
        language = send.contact.locale if send is not None else translation.get_language_from_request(request)
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
        name = form.get("action", "") if form is not None else ""
        action = PAGE_ACTIONS.get(name)
        # A designed page without a save (or "unsubscribe from all") button does not do it either.
        if action is None or not page_offers(send, name):
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
            outcome = unsubscribe_channel(request, send, form, label="one_click" if one_click else "public_page")
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


# --- A designed page's branding: its stylesheet and logo, from this site (the page's CSP allows no other) ---

LOGO_NAME = re.compile(r"page-logos/[0-9a-f]{32}(_[A-Za-z0-9]{7})?\.png")
ASSET_CSP = {"default-src": ["'none'"], "frame-ancestors": ["'none'"], "sandbox": [""]}


def _asset(response: HttpResponse) -> HttpResponse:
    response["X-Content-Type-Options"] = "nosniff"
    # The URL carries the page's version, so a changed page is a new URL.
    response["Cache-Control"] = "public, max-age=86400"
    return response


@csp(ASSET_CSP)
def page_style(request, pk: int) -> HttpResponse:
    """The colours of a designed page's header, as a stylesheet (the page allows no inline style).
    Only ``#rrggbb`` values are ever written (checked here again, and by a database constraint)."""
    page = PreferencePage.objects.filter(pk=pk).only("brand_background", "brand_text").first()
    css = ""
    if page is not None and COLOUR.fullmatch(page.brand_background) and COLOUR.fullmatch(page.brand_text):
        css = (f".public-header {{ background: {page.brand_background}; color: {page.brand_text}; }}\n"
               f".public-header .public-brand {{ color: {page.brand_text}; }}\n")
    return _asset(HttpResponse(css, content_type="text/css; charset=utf-8"))


@csp(ASSET_CSP)
def page_logo(request, pk: int) -> HttpResponse:
    """A designed page's logo: always the PNG the upload was re-encoded to, never the uploaded bytes."""
    page = PreferencePage.objects.filter(pk=pk).only("logo").first()
    name = page.logo.name if page is not None else ""
    # Only a file the upload wrote: a re-encoded PNG directly in page-logos/.
    if not LOGO_NAME.fullmatch(name):
        return HttpResponse(status=404)
    try:
        with page.logo.open("rb") as logo:
            data = logo.read()
    except (OSError, SuspiciousFileOperation):
        return HttpResponse(status=404)
    response = _asset(HttpResponse(data, content_type="image/png"))
    response["Content-Disposition"] = 'inline; filename="logo.png"'
    return response

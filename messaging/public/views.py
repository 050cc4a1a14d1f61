"""The contact's side (SPEC §4): the preference page and the unsubscribe link of every message.

A link names one send (``messaging.public.tokens``). GET only ever shows; every change is a POST that
goes through the ``contacts.services`` write path with the send, IP and user agent in the
history row. What a POST does is a small table from the button pressed to an action.
"""

from __future__ import annotations

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
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django_ratelimit.core import is_ratelimited

from contacts.models import (
    Channel,
)
from contacts.services import (
    PreferencesInvalid,
    Source,
    channel_subscribe,
    channel_unsubscribe,
    contact_preferences_update,
)
from messaging.models import Send
from preference_center.client_ip import client_ip
from messaging.public.page import channel_label, posted_preferences, public_page_load, send_for_token
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
    return Outcome(confirmation=_("Your preferences are saved."))


def unsubscribe_channel(request, send: Send, form, *, label: str = "public_page") -> Outcome:
    channel = send.channel
    channel_unsubscribe(contact=send.contact, channel=channel, source=source_for(request, send, label))
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

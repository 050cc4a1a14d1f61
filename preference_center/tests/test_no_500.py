"""No request, however malformed, gets a 500 (SPEC §9): every URL pattern, every role, generated garbage.

The walk visits each pattern of the resolver, the admin's and the public links' included, in three
passes: (1) a GET and a POST on existing objects as an anonymous visitor, a viewer, an editor and an
admin; (2) each value that once broke a view (``NASTY``) in each parameter the view reads (found in
its module's source, its GET forms and its links) and in each field of its POST form, the others
left valid; (3) Hypothesis-generated requests: any role and method, garbage or real ids in the
path, query strings, bodies made from the page's own form with fields replaced, dropped, repeated
or added (TOTAL_FORMS included), form-encoded, multipart or raw bytes, with and without htmx.
A 5xx fails the test and prints the request and its traceback. Each request runs in a savepoint
that is rolled back, so every one starts from the same data; the examples are derandomized, so the
walk is the same on every run. Webhooks are walked without credentials here; with valid ones their
bodies are fuzzed by the webhook tests.
"""

from __future__ import annotations

import datetime
import inspect
import logging
import os
import re
import sys
import traceback
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts.models import BulkAction, Channel, Contact, ContactImport
from contacts.services import (
    Source,
    category_unsubscribe,
    channel_frequency_set,
    channel_pause_set,
    channel_unsubscribe,
    contact_fields_update,
    segment_membership_add,
)
from contacts.tests.factories import CategoryFactory, ContactFactory, ContactFieldFactory, SegmentFactory, UserFactory
from messaging.models import (
    Dispatch, DispatchBatch, OutboxMessage, Outcome, PreferencePage, PreferencePageVersion, ScheduledDispatch, Send,
)
from messaging.tests.factories import MessageFactory
from messaging.public.tokens import send_token
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "viewer", "editor", "admin")
# Ten generated requests per pattern keep the walk near two minutes; raise it for a deeper search.
EXAMPLES_PER_PATTERN = int(os.environ.get("NO_500_EXAMPLES", "10"))

# --- The patterns ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One URL pattern: its pieces from the root resolver down, and the view it names."""

    pieces: tuple  # RoutePattern / RegexPattern objects
    view: str
    callback: object

    @property
    def label(self) -> str:
        return "".join(str(piece) for piece in self.pieces) or "/"


def _walk(patterns, prefix=()):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + (pattern.pattern,))
        elif isinstance(pattern, URLPattern):
            yield Route(prefix + (pattern.pattern,), pattern.lookup_str, pattern.callback)


ROUTES = list(_walk(get_resolver().url_patterns))
PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
NAMED_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<regex>(?:[^()]|\([^()]*\))*)\)")


def _parameters(route: Route) -> list[tuple[str, str, str]]:
    """(name, converter or "regex", the regex a value must match) for each path parameter."""
    found = []
    for piece in route.pieces:
        text = str(piece)
        if isinstance(piece, RoutePattern):  # path()
            for match in PARAMETER.finditer(text):
                converter = match["converter"] or "str"
                found.append((match["name"], converter, piece.converters[match["name"]].regex))
        else:  # re_path()
            for match in NAMED_GROUP.finditer(text):
                found.append((match["name"], "regex", match["regex"]))
    return found


def _path(route: Route, values: dict[str, str]) -> str:
    """The URL of ``route`` with ``values`` (already percent-encoded) in its parameters."""
    path = "/"
    for piece in route.pieces:
        text = str(piece)
        if isinstance(piece, RoutePattern):
            path += PARAMETER.sub(lambda match: values[match["name"]], text)
        else:
            text = NAMED_GROUP.sub(lambda match: values[match["name"]], text)
            path += text.removeprefix("^").removesuffix("$").removesuffix(r"\Z")
    return path


READS = re.compile(r"request\.(?P<where>GET|POST)(?:\.get|\.getlist|\.pop)?[(\[]\s*[\"'](?P<key>[^\"']+)[\"']")
FILLS = re.compile(r"(?P<form>\w+)\(\s*request\.GET")


def _view_reads(route: Route) -> tuple[set[str], set[str]]:
    """The query and body keys this project's view module reads by name, with the fields of the
    forms it fills from the query string: what a view does with its parameters is where it breaks."""
    module = sys.modules.get(inspect.unwrap(route.callback).__module__)
    if module is None or not module.__name__.startswith(("contacts.", "messaging.", "preference_center.")):
        return set(), set()
    source = inspect.getsource(module)
    query, body = set(), set()
    for match in READS.finditer(source):
        (query if match["where"] == "GET" else body).add(match["key"])
    for match in FILLS.finditer(source):
        form = getattr(module, match["form"], None)
        query.update(getattr(form, "base_fields", {}))
    return query, body


# --- The data every request may name -------------------------------------------------------------


@dataclass
class World:
    users: dict
    ids: dict[str, list[str]]  # parameter kind -> valid values
    tokens: list[str]
    clients: dict = field(default_factory=dict)  # role -> Client
    cookies: dict = field(default_factory=dict)  # role -> its cookies once logged in

    def log_in(self) -> None:
        for role in ROLES:
            client = Client(raise_request_exception=False)
            if role != "anonymous":
                client.force_login(self.users[role])
            self.clients[role], self.cookies[role] = client, client.cookies.output(header="", sep=";")


def _world() -> World:
    now = timezone.now()
    staff = Source.staff
    admin = UserFactory(username="root", is_superuser=True)
    editor, viewer = UserFactory(username="edith"), UserFactory(username="victor")
    editor.groups.add(Group.objects.get(name="Editors"))
    viewer.groups.add(Group.objects.get(name="Viewers"))
    email, sms = Channel.objects.get(slug="email"), Channel.objects.get(slug="sms")
    news, club = CategoryFactory(public=True), CategoryFactory(opt_in=True)
    vip, hidden = SegmentFactory(public=True), SegmentFactory()
    ada = ContactFactory(first_name="Ada")
    bob = ContactFactory(first_name="Bob", phone="")
    for contact in (ada, bob):
        segment_membership_add(contact=contact, segment=vip, source=staff(editor))
    channel_frequency_set(contact=ada, channel=email, number=2, unit="week", source=staff(editor))
    channel_pause_set(contact=ada, channel=sms, pause_from=datetime.date(2026, 1, 1),
                      pause_to=datetime.date(2099, 12, 31), source=staff(editor))
    category_unsubscribe(contact=ada, category=news, source=staff(editor))
    channel_unsubscribe(contact=bob, channel=email, source="public_page")
    # A record no form would accept today: a time zone the time zone database no longer knows.
    stale = ContactFactory(first_name="Old")
    segment_membership_add(contact=stale, segment=vip, source=staff(editor))
    channel_pause_set(contact=stale, channel=email, pause_from=datetime.date(2026, 1, 1),
                      pause_to=datetime.date(2099, 12, 31), source=staff(editor))
    Contact.objects.filter(pk=stale.pk).update(time_zone="US/Pacific-New")
    designed = PreferencePage.objects.create(name="Designed", published_at=now, brand_background="#1f2d3d",
                                             brand_text="#ffffff", footer_text="1 Main Street")
    PreferencePageVersion.objects.create(page=designed, language="en", blocks=[
        {"kind": "categories", "items": []}, {"kind": "channels"}, {"kind": "save"}, {"kind": "unsubscribe_all"},
    ])
    message = MessageFactory(channels=["email", "sms"], segments=[vip], category=club, preference_page=designed)
    dispatch = Dispatch.objects.create(message=message, deliver_until=now + datetime.timedelta(days=7))
    DispatchBatch.objects.create(dispatch=dispatch, first_contact_id=ada.pk, last_contact_id=bob.pk)
    sent = Send.objects.create(message=message, dispatch=dispatch, contact=ada, channel=email, outcome=Outcome.SENT,
                               decided_at=now, evaluated_at=now, sent_at=now)
    deferred = Send.objects.create(message=message, dispatch=dispatch, contact=bob, channel=None,
                                   outcome=Outcome.DEFERRED, decided_at=now, evaluated_at=now, first_deferred_at=now,
                                   deferred_until=now + datetime.timedelta(days=1))
    schedule = ScheduledDispatch.objects.create(message=message, run_at=now + datetime.timedelta(days=1),
                                                time_zone="Europe/Paris")
    bulk = BulkAction.objects.create(kind="segment_add", segment=vip, filters={"search": "ada"}, actor="edith")
    link = f"<https://example.com/messaging/u/{send_token(sent.pk)}/>"
    OutboxMessage.objects.create(send=sent, channel_slug="email", to=ada.email, subject="Hi", body="Hello",
                                 headers={"List-Unsubscribe": link})
    company = ContactFieldFactory(key="company", label="Company")
    plan = ContactFieldFactory(key="plan", label="Plan", type="choice", choices=["Free", "Gold"])
    contact_fields_update(contact=ada, values={"company": "Acme", "plan": "Gold"}, source=staff(editor))
    endpoint = WebhookEndpoint.objects.create(name="CRM", url="https://crm.example.com/hooks", events=["dnc.added"])
    event = WebhookEvent.objects.create(type="dnc.added", contact=bob, payload={"type": "dnc.added", "data": {}})
    delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint, contact_id=bob.pk, next_attempt_at=now,
                                              give_up_at=now, status="failed")
    ids = {
        "fields": [str(company.pk), str(plan.pk)],
        "webhooks": [str(endpoint.pk)],
        "deliveries": [str(delivery.pk)],
        "contacts": [str(ada.pk), str(bob.pk), str(stale.pk)],
        "categories": [str(news.pk), str(club.pk)],
        "segments": [str(vip.pk), str(hidden.pk)],
        "messaging": [str(message.pk)],
        "dispatches": [str(dispatch.pk)],
        "schedules": [str(schedule.pk)],
        "bulk": [str(bulk.pk)],
        "channel": ["email", "sms"],
        "esp": ["postmark", "sendgrid"],
        "send": [str(deferred.pk), str(sent.pk)],
        "imports": [str(ContactImport.objects.create(
            file_name="a.csv", stored_path="missing.csv", size=10, sha256="0" * 64, encoding="utf-8-sig",
            delimiter=",", header=["email", "name"], rows_total=1, created_by="alice").pk)],
        "phase": ["check", "import"],
        "pages": [str(designed.pk)],
        "language": ["en", "fr"],
    }
    return World(users={"viewer": viewer, "editor": editor, "admin": admin}, ids=ids,
                 tokens=[send_token(sent.pk), send_token(deferred.pk)])


def _valid_values(route: Route, world: World, name: str, converter: str) -> list[str]:
    """Values of existing objects for one path parameter, chosen by what the pattern is about."""
    text = route.label
    if name == "token":
        return world.tokens
    if name in world.ids:
        return world.ids[name]
    if name == "contact_pk":
        return world.ids["contacts"]
    if name == "object_id" or name == "content_type_id":
        admin_model = re.search(r"admin/(\w+)/(\w+)/", text)
        if admin_model:
            model = apps.get_model(admin_model[1], admin_model[2])
            return [str(pk) for pk in model.objects.order_by("pk").values_list("pk", flat=True)[:3]] or ["1"]
        return ["1"]
    if name == "app_label":
        return ["auth", "contacts", "messaging"]
    if "contacts/bulk/<" in text:
        return world.ids["bulk"]
    if text.startswith("webhooks/deliveries/<"):
        return world.ids["deliveries"]
    if text.startswith("webhooks/<"):
        return world.ids["webhooks"]
    for prefix in ("contacts", "categories", "segments", "dispatches", "schedules", "imports", "fields"):
        if f"{prefix}/<" in text:
            return world.ids[prefix]
    if text.startswith(("messaging/pages/<", "messaging/page-")):
        return world.ids["pages"]
    if text.startswith("messaging/<"):
        return world.ids["messaging"]
    return ["1"]


# --- Garbage ---------------------------------------------------------------------------------------

ODD = [
    "", "0", "-1", "1", "²", "١٢٣", "𝟙", "9" * 40, str(10**30), "1e400", "nan", "-0", " 1", "0x10", "1_000",
    "\x00", "a\x00b", "%00", "%ff", "2024-02-30", "2024-13-01", "2024-02-01T25:00", "2024-02-01T10:00+25:00",
    "9999-12-31", "0001-01-01", "10000-01-01", "99999-01-01", "true", "on", "yes", "null", "[]", "{}", "{not json",
    "<script>alert(1)</script>", "' OR 1=1 --", "../../etc/passwd", "\u202e", "\ufeff", "K", "ǅ", "x" * 3000,
    "email", "sms", "day", "week", "month", "all", "save", "unsubscribe", "resubscribe", "-name", "name",
]
# What broke views before: each value of this list goes into each parameter a view reads.
NASTY = ["²", "9" * 40, "-1", "a\x00b", "2024-02-30T25:00+25:00", "9999-12-31", "x" * 3000, ""]
NASTY_FIELDS = ["²", "9" * 40, "-1", "a\x00b", "9999-12-31", "x" * 3000]  # a form's other fields stay valid
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
garbage = st.one_of(st.sampled_from(ODD), st.sampled_from(ODD), text, st.integers(-(2**70), 2**70).map(str))
QUERY_KEYS = [
    "page", "q", "before", "contact", "send", "sort", "segment", "category", "category_status", "dnc_channel",
    "dnc_reason", "paused", "has_cap", "partial", "part", "next", "o", "p", "e", "_popup", "_to_field",
    "_changelist_filters", "all", "action", "lang", "language", "ff", "fo", "fv", "fv2", "col", "columns",
]


class _Forms(HTMLParser):
    """A page's POST form fields (names and values), and the query keys of its GET forms and links."""

    def __init__(self):
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self.query_keys: set[str] = set()
        self._get_form = False
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._get_form = (attrs.get("method") or "get").lower() == "get"
        name = attrs.get("name")
        if tag in ("input", "select", "textarea", "button") and name:
            self._select = name if tag == "select" else None
            if self._get_form:
                self.query_keys.add(name)
            elif not (attrs.get("type") in ("checkbox", "radio", "submit") and "checked" not in attrs):
                self.fields.append((name, attrs.get("value") or ""))
        elif tag == "option" and "selected" in attrs and self._select and not self._get_form:
            self.fields.append((self._select, attrs.get("value") or ""))
        for attribute in ("href", "hx-get", "hx-post", "action"):
            if attrs.get(attribute):
                self.query_keys.update(key for key, _ in parse_qsl(urlsplit(attrs[attribute]).query))


def page_forms(html: str) -> _Forms:
    parser = _Forms()
    parser.feed(html)
    return parser


@st.composite
def requests(draw, route: Route, world: World, fields: list[tuple[str, str]], query_keys: list[str]):
    """One generated request for ``route``: role, method, path, query string, body, headers."""
    values = {}
    for name, converter, regex in _parameters(route):
        valid = _valid_values(route, world, name, converter)
        safe = "/" if converter == "path" else ""
        choice = draw(st.one_of(
            st.sampled_from(valid),
            st.sampled_from(valid),
            st.integers(-(2**70), 2**70).map(str),
            garbage.map(lambda value: quote(value, safe=safe)),
            st.from_regex(regex, fullmatch=True).map(lambda value: quote(value, safe=safe)),
        ))
        values[name] = choice
    keys = st.one_of(st.sampled_from(QUERY_KEYS + query_keys), text)
    query = draw(st.lists(st.tuples(keys, garbage), max_size=3))
    if query_keys and draw(st.booleans()):
        query += [(key, draw(garbage)) for key in draw(st.sets(st.sampled_from(query_keys), max_size=3))]
    method = draw(st.sampled_from(["GET", "GET", "GET", "POST", "POST", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"]))
    body = None
    if method in ("POST", "PUT"):
        form = list(fields)
        mutated = []
        for name, value in form:
            action = draw(st.sampled_from(["keep", "keep", "keep", "garbage", "drop", "repeat"]))
            if action == "keep":
                mutated.append((name, value))
            elif action == "garbage":
                mutated.append((name, draw(garbage)))
            elif action == "repeat":
                mutated += [(name, value), (name, draw(garbage))]
        mutated += draw(st.lists(st.tuples(st.one_of(keys, st.sampled_from(
            ["versions-TOTAL_FORMS", "caps-TOTAL_FORMS", "form-TOTAL_FORMS", "versions-INITIAL_FORMS",
             "caps-0-id", "caps-9-id", "send", "scope", "confirm", "action", "List-Unsubscribe", "email"])), garbage),
            max_size=4))
        encoding = draw(st.sampled_from(["form", "form", "multipart", "raw"]))
        if encoding == "raw":
            body = ("raw", draw(st.binary(max_size=200)), draw(st.sampled_from(
                ["application/json", "text/plain", "multipart/form-data; boundary=x", "multipart/form-data",
                 "application/x-www-form-urlencoded"])))
        else:
            body = (encoding, mutated, None)
    headers = {}
    if draw(st.booleans()):
        headers["HTTP_HX_REQUEST"] = "true"
        headers["HTTP_HX_CURRENT_URL"] = draw(st.sampled_from(
            ["http://testserver/contacts/1/", "http://testserver/?q=a b&x=ü", "not a url", "http://evil.example/x"]))
    return {
        "role": draw(st.sampled_from(("admin", "admin", "editor", "viewer", "anonymous"))),
        "method": method,
        "path": _path(route, values),
        "query": urlencode(query),
        "body": body,
        "headers": headers,
    }


# --- Sending and judging ---------------------------------------------------------------------------


def _send(world: World, request: dict):
    client = world.clients[request["role"]]
    # Each request starts logged in as its role, whatever the last one did (a logout, a login).
    client.cookies = SimpleCookie(world.cookies[request["role"]])
    url = request["path"] + (f"?{request['query']}" if request["query"] else "")
    method = request["method"].lower()
    body = request["body"]
    if body is None:
        return getattr(client, method)(url, **request["headers"])
    encoding, data, content_type = body
    if encoding == "raw":
        return getattr(client, method)(url, data=data, content_type=content_type, **request["headers"])
    if encoding == "form":
        encoded = urlencode(data)
        return getattr(client, method)(url, data=encoded, content_type="application/x-www-form-urlencoded",
                                       **request["headers"])
    grouped: dict[str, list[str]] = {}
    for name, value in data:
        grouped.setdefault(name, []).append(value)
    if method != "post":
        return getattr(client, method)(url, **request["headers"])
    return client.post(url, data=grouped, **request["headers"])


def _answer(world: World, request: dict):
    """The response to ``request``, with whatever it changed rolled back."""
    with transaction.atomic():
        response = _send(world, request)
        transaction.set_rollback(True)
    return response


def _report(route: Route, request: dict, response) -> str:
    trace = "".join(traceback.format_exception(*response.exc_info)) if response.exc_info else "(no traceback)"
    body = request["body"]
    shown = body if body is None or body[0] != "raw" else ("raw", body[1][:80], body[2])
    return (f"{response.status_code} for {route.label} ({route.view}) as {request['role']}: "
            f"{request['method']} {request['path']}?{request['query']} body={shown!r} "
            f"headers={request['headers']}\n{trace}")


@pytest.fixture
def world(settings):
    # The walk sends thousands of requests from one address: the public rate limit would answer 429.
    settings.PUBLIC_RATELIMIT = "1000000/s"
    settings.AXES_ENABLED = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast staff users
    world = _world()
    world.log_in()
    # Every 404 and 403 of the walk would be logged with its traceback; errors (5xx) still are.
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield world
    logger.setLevel(level)


def _request(role, method, path, query=(), body=None) -> dict:
    return {"role": role, "method": method, "path": path, "query": urlencode(list(query)), "body": body, "headers": {}}


@pytest.mark.parametrize("route", ROUTES, ids=[route.label for route in ROUTES])
def test_no_request_to_any_url_gets_a_server_error(world, route):
    failures = []

    def check(request):
        response = _answer(world, request)
        if response.status_code >= 500:
            failures.append(_report(route, request, response))
        return response

    # 1. Plain requests on existing objects, for every role: they reach each view's own logic.
    valid = {name: _valid_values(route, world, name, converter)[0] for name, converter, _ in _parameters(route)}
    path = _path(route, valid)
    query_keys, body_keys = _view_reads(route)
    fields = []
    for role in ROLES:
        for method, body in (("GET", None), ("POST", ("multipart", [], None))):
            response = check(_request(role, method, path, body=body))
            if role == "admin" and method == "GET" and response.status_code == 200 and "html" in response.get(
                "Content-Type", ""
            ):
                forms = page_forms(response.content.decode())
                fields = forms.fields
                query_keys |= forms.query_keys if route.view.startswith(("contacts.", "messaging.")) else set()
    # 2. Each value that once broke a view, in each parameter the view reads (as the admin, who
    # reaches every view): alone in the query string, and in its form with the other fields valid.
    for key in sorted(query_keys):
        for value in NASTY:
            check(_request("admin", "GET", path, [(key, value)]))
    if route.view.startswith(("contacts.", "messaging.")):
        for key in sorted(body_keys | {name for name, _ in fields}):
            for value in NASTY_FIELDS:
                form = [(name, current) for name, current in fields if name != key] + [(key, value)]
                check(_request("admin", "POST", path, body=("form", form, None)))
    assert not failures, "\n\n".join(failures[:5]) + f"\n\n{len(failures)} requests got a server error"

    # 3. Generated requests: any role, method, path value, query string, body and htmx header.
    @settings(max_examples=EXAMPLES_PER_PATTERN, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(request=requests(route, world, fields, sorted(query_keys)))
    def generated(request):
        response = _answer(world, request)
        assert response.status_code < 500, _report(route, request, response)

    generated()

"""Every staff page carries a strict Content-Security-Policy: the second wall behind escaping."""

import datetime
import json
import re
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from contacts.models import ContactImport
from api import urls as api_urls
from api.services import api_key_create
from contacts.tests.factories import CategoryFactory, ContactFactory, ContactFieldFactory, SegmentFactory, UserFactory
from contacts.models import BulkAction
from messaging.models import Dispatch, ScheduledDispatch
from contacts.tests.factories import CategoryFactory, ContactFactory, SegmentFactory, UserFactory
from messaging.models import Dispatch, OutboxMessage, PreferencePage, PreferencePageVersion
from messaging.tests.factories import MessageFactory
from messaging.views.staff import outbox_frame_token
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

HTMX = {"HTTP_HX_REQUEST": "true"}
# URL names that are not staff pages: the contact's own pages (their stricter policy is checked
# below) and the providers' webhooks (JSON and text, never rendered by a browser).
NOT_STAFF = {
    "messaging:preferences",
    "messaging:unsubscribe",
    "messaging:email_tracking_webhook",
    "messaging:twilio_sms_webhook",
    "messaging:page_style",
    "messaging:page_logo",
}
# The REST API's resources answer JSON to API keys only (api/tests check them); its docs and schema are walked.
NOT_STAFF |= {f"api:{p.name}" for p in api_urls.urlpatterns if p.name and p.name not in ("docs", "schema")}


# Actions that only take a POST (and logout, which redirects).
POST_ONLY = {
    "contacts:logout",
    "contacts:contact_dnc_clear",
    "contacts:segment_member_add",
    "contacts:segment_rebuild",
    "contacts:segment_filter_count",
    "messaging:deferred_cancel",
    "messaging:message_archive",
    "contacts:import_start",
    "contacts:import_cancel",
    "api_keys:revoke",
    "messaging:schedule_cancel",
    "webhooks:endpoint_secret_rotate",
    "webhooks:delivery_resend",
    "messaging:page_publish",
}


def url_names(resolver=None, prefix: str = ""):
    """Every named URL of the project, with its namespace; the admin is walked on its own."""
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue
            yield from url_names(pattern, f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield prefix + pattern.name


def directives(response) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy", "")
    parsed = {}
    for part in filter(str.strip, header.split(";")):
        name, *values = part.split()
        parsed[name] = values
    return parsed


# Pages shown only inside a sandboxed frame of a staff page: their own policy, framed by this site only.
FRAMED = {"/messaging/outbox/html/"}


def assert_framed_strict(response, url: str) -> None:
    policy = directives(response)
    assert policy.get("default-src") == ["'none'"] and "script-src" not in policy, (url, policy)
    assert "sandbox" in policy and policy.get("frame-ancestors") == ["'self'"], (url, policy)
    assert policy.get("base-uri") == ["'none'"] and policy.get("form-action") == ["'none'"], (url, policy)


def assert_strict(response, url: str) -> None:
    if url.startswith(tuple(FRAMED)) and response.status_code == 200:
        assert_framed_strict(response, url)
        return
    policy = directives(response)
    assert policy, f"{url} ({response.status_code}) has no Content-Security-Policy"
    scripts = policy.get("script-src", policy.get("default-src"))
    assert scripts is not None, url
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, (url, scripts)
    assert not any(source in {"*", "data:", "http:", "https:"} for source in scripts), (url, scripts)
    styles = policy.get("style-src", policy.get("default-src"))
    assert "'unsafe-inline'" not in styles, (url, styles)
    assert policy.get("object-src") == ["'none'"] or policy.get("default-src") == ["'none'"], url
    assert policy.get("base-uri") == ["'none'"], url
    assert policy.get("frame-ancestors") == ["'none'"], url


@pytest.fixture
def objects(db):
    contact = ContactFactory(first_name="Ada", email="ada@example.org")
    category = CategoryFactory()
    segment = SegmentFactory()
    # A published page with a text block the message uses: its preview is a staff page too.
    page = PreferencePage.objects.create(name="Designed", published_at=timezone.now())
    PreferencePageVersion.objects.create(page=page, language="en", blocks=[
        {"kind": "text", "text": "<p>Hello</p>"}, {"kind": "categories", "items": []}, {"kind": "save"},
        {"kind": "unsubscribe_all"},
    ])
    message = MessageFactory(segments=[segment], category=category, preference_page=page)
    dispatch = Dispatch.objects.create(message=message, deliver_until=timezone.now() + datetime.timedelta(days=7))
    contact_import = ContactImport.objects.create(
        file_name="a.csv", stored_path="missing.csv", size=10, sha256="0" * 64, encoding="utf-8-sig", delimiter=",",
        header=["email"], rows_total=1, created_by="alice")
    schedule = ScheduledDispatch.objects.create(
        message=message, run_at=timezone.now() + datetime.timedelta(days=1), time_zone="Europe/Paris"
    )
    bulk_action = BulkAction.objects.create(kind="segment_add", segment=segment, filters={"search": "<b>x"}, actor="x")
    field = ContactFieldFactory(key="company", label="Company")
    api_key = api_key_create(acting_user=None, name="crm", scopes=["read"]).api_key
    endpoint = WebhookEndpoint.objects.create(name="CRM <b>", url="https://crm.example.com/hooks", events=["dnc.added"])
    event = WebhookEvent.objects.create(type="dnc.added", contact=contact, payload={"type": "dnc.added", "data": {}})
    delivery = WebhookDelivery.objects.create(
        event=event, endpoint=endpoint, contact_id=contact.pk, next_attempt_at=timezone.now(), give_up_at=timezone.now()
    )
    outbox = OutboxMessage.objects.create(channel_slug="email", to="ada@example.org", body="Hi",
                                          html_body="<p>Hi</p>", headers={"From": "news@example.org"})
    return {"contact": contact, "category": category, "segment": segment, "message": message, "dispatch": dispatch,
            "field": field, "import": contact_import, "api_key": api_key, "schedule": schedule,
            "bulk_action": bulk_action, "endpoint": endpoint, "delivery": delivery, "page": page, "outbox": outbox}


def staff_urls(o) -> dict[str, str]:
    """A URL for each staff URL name (a new name without an entry here fails the walk)."""
    args = {
        "contacts:contact_detail": [o["contact"].pk],
        "contacts:contact_history": [o["contact"].pk],
        "contacts:contact_edit": [o["contact"].pk],
        "contacts:contact_delete": [o["contact"].pk],
        "contacts:bulk_action_detail": [o["bulk_action"].pk],
        "contacts:contact_preferences": [o["contact"].pk],
        "contacts:contact_dnc_clear": [o["contact"].pk, "email"],
        "contacts:category_edit": [o["category"].pk],
        "contacts:category_delete": [o["category"].pk],
        "contacts:segment_detail": [o["segment"].pk],
        "contacts:segment_edit": [o["segment"].pk],
        "contacts:segment_delete": [o["segment"].pk],
        "contacts:segment_member_add": [o["segment"].pk],
        "contacts:segment_member_remove": [o["segment"].pk, o["contact"].pk],
        "contacts:segment_export": [o["segment"].pk],
        "contacts:field_edit": [o["field"].pk],
        "contacts:field_delete": [o["field"].pk],
        "contacts:segment_rebuild": [o["segment"].pk],
        "contacts:segment_rebuild_status": [o["segment"].pk],
        "messaging:message_detail": [o["message"].pk],
        "messaging:message_edit": [o["message"].pk],
        "messaging:message_preview": [o["message"].pk],
        "messaging:message_send": [o["message"].pk],
        "messaging:message_delete": [o["message"].pk],
        "messaging:message_archive": [o["message"].pk],
        "messaging:schedule_create": [o["message"].pk],
        "messaging:message_test_send": [o["message"].pk],
        "messaging:schedule_edit": [o["schedule"].pk],
        "messaging:schedule_cancel": [o["schedule"].pk],
        "messaging:dispatch_detail": [o["dispatch"].pk],
        "messaging:deferred_cancel": [o["dispatch"].pk],
        "contacts:import_detail": [o["import"].pk],
        "contacts:import_progress": [o["import"].pk],
        "contacts:import_start": [o["import"].pk],
        "contacts:import_cancel": [o["import"].pk],
        "contacts:import_report": [o["import"].pk, "check"],
        "api_keys:revoke": [o["api_key"].pk],
        "webhooks:endpoint_detail": [o["endpoint"].pk],
        "webhooks:endpoint_edit": [o["endpoint"].pk],
        "webhooks:endpoint_secret_rotate": [o["endpoint"].pk],
        "webhooks:delivery_resend": [o["delivery"].pk],
        "messaging:message_page_preview": [o["message"].pk],
        "messaging:page_detail": [o["page"].pk],
        "messaging:page_edit": [o["page"].pk],
        "messaging:page_version_edit": [o["page"].pk, "fr"],
        "messaging:page_publish": [o["page"].pk],
        "messaging:page_brand_edit": [o["page"].pk],
        "messaging:page_delete": [o["page"].pk],
        "messaging:page_preview": [o["page"].pk],
        "messaging:outbox_detail": [o["outbox"].pk],
        "messaging:outbox_html": [outbox_frame_token(item_id=o["outbox"].pk, live_links=True)],
    }
    query = {
        "contacts:contact_history": {"before": (timezone.now() + datetime.timedelta(days=1)).isoformat()},
        "messaging:message_preview": {"contact": o["contact"].pk},
        "messaging:message_page_preview": {"contact": o["contact"].pk},
        "messaging:page_preview": {"contact": o["contact"].pk},
        "messaging:dispatch_detail": {"part": "report"},
        "messaging:message_costs": {"sort": "rate"},
    }
    return {
        name: reverse(name, args=args.get(name, [])) + (f"?{urlencode(query[name])}" if name in query else "")
        for name in url_names()
        if name not in NOT_STAFF
    }


def admin_urls(o) -> list[str]:
    urls = [reverse("admin:index"), reverse("admin:password_change")]
    for model in admin.site._registry:
        meta = model._meta
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
    urls.append(reverse("admin:contacts_contact_change", args=[o["contact"].pk]))
    return urls


def test_every_staff_page_sends_a_strict_policy_to_an_admin(objects):
    root = UserFactory(username="root", is_superuser=True)
    client = Client()
    client.force_login(root)
    urls = staff_urls(objects)
    assert "contacts:contact_list" in urls and "messaging:outbox" in urls
    for name, url in urls.items():
        for headers in ({}, HTMX):
            response = client.get(url, **headers)
            # The page itself (POST-only actions answer 405, logout and the login page redirect).
            assert response.status_code in (200, 302, 405), (url, response.status_code)
            assert response.status_code == 200 or name in POST_ONLY | {"contacts:login"}, url
            assert_strict(response, url)
    for url in admin_urls(objects):
        response = client.get(url)
        assert response.status_code in (200, 403), url  # some models take no additions there
        assert_strict(response, url)
    assert_strict(client.get("/no-such-page/"), "404")
    # Forms sent back with their errors, refused or done actions keep the policy too (objects may go).
    for name, url in urls.items():
        client.force_login(root)
        assert_strict(client.post(url, {"first_name": "x" * 1000}, **HTMX), url)


def test_login_refusals_and_error_pages_send_the_policy(objects):
    anonymous = Client()
    for url in (reverse("contacts:login"), reverse("admin:login"), reverse("contacts:contact_list"), "/no-such-page/"):
        assert_strict(anonymous.get(url), url)
    assert_strict(anonymous.get(reverse("contacts:contact_preferences", args=[objects["contact"].pk]), **HTMX), "hx")
    viewer = Client()
    user = UserFactory(username="victor")
    user.groups.add(Group.objects.get(name="Viewers"))
    viewer.force_login(user)
    refused = viewer.get(reverse("contacts:category_create"))
    assert refused.status_code == 403
    assert_strict(refused, "403")
    assert_strict(viewer.get(reverse("admin:index")), "admin as viewer")


def test_the_public_page_keeps_its_own_policy_without_any_script(objects):
    from messaging.tests.factories import past_send
    from messaging.public.tokens import send_token

    send = past_send(objects["contact"], "email", timezone.now())
    response = Client().get(reverse("messaging:preferences", args=[send_token(send.pk)]))
    assert response.status_code == 200
    policy = directives(response)
    assert policy["default-src"] == ["'none'"] and "script-src" not in policy
    assert_strict(response, "public page")


TEMPLATE_ROOTS = [settings.BASE_DIR / "templates", settings.BASE_DIR / "contacts", settings.BASE_DIR / "messaging"]
# What the policy would block, so what no template may hold: inline script, handler attributes,
# style attributes, htmx's inline handlers and evaluated values, javascript: URLs; and what would
# switch escaping off.
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\son[a-z]+\s*=|\sstyle\s*=|\shx-on|\sdata-hx-on|js:|javascript:"
    r"|\|\s*safe|autoescape\s+off",
    re.IGNORECASE,
)


def test_no_template_holds_inline_script_handlers_styles_or_unescaped_values():
    found = []
    for root in TEMPLATE_ROOTS:
        for path in root.rglob("*.html"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if INLINE.search(line):
                    found.append(f"{path.relative_to(settings.BASE_DIR)}:{number}: {line.strip()[:120]}")
    assert not found, "\n".join(found)


def test_htmx_is_configured_never_to_evaluate_code_nor_inject_styles(db):
    client = Client()
    client.force_login(UserFactory(username="root", is_superuser=True))
    html = client.get(reverse("contacts:contact_list")).content.decode()
    config = re.search(r'<meta name="htmx-config" content=\'([^\']*)\'>', html)
    assert config, "the staff pages configure htmx"
    options = json.loads(config.group(1))
    assert options["includeIndicatorStyles"] is False  # htmx would add a <style> element
    assert options["allowEval"] is False and options["allowScriptTags"] is False


def test_markup_is_built_in_python_only_where_reviewed():
    """``mark_safe`` trusts a string as HTML: only the public skeleton's slot markers (digits) and the
    output of the HTML sanitiser for a page's text blocks may."""
    reviewed = {"messaging/public/skeleton.py", "messaging/pages.py"}
    users = {
        str(path.relative_to(settings.BASE_DIR))
        for root in ("contacts", "messaging", "preference_center")
        for path in (settings.BASE_DIR / root).rglob("*.py")
        if "/tests/" not in str(path) and re.search(r"mark_safe\(|SafeString\(|\|safe|autoescape off", path.read_text())
    }
    assert users <= reviewed, users - reviewed

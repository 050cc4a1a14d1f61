"""Every endpoint and method of the live OpenAPI document, fuzzed with its own schema: with a valid
key, no answer is a 5xx, every answer's status, content type and body conform to the document,
and data the document forbids is refused. Half the generated ids are swapped for real rows so the
requests reach the services, not only the 404s."""

import os

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from api.services import api_key_create
from api.views.api import preferences_etag
from contacts import selectors as contact_selectors
from contacts.services import segment_membership_add
from contacts.models import Contact
from contacts.tests.factories import CategoryFactory, ContactFactory, SegmentFactory, UserFactory
from messaging.models import Dispatch
from messaging.tests.factories import MessageFactory
from preference_center.wsgi import application

from .conftest import ALL_SCOPES

# Examples per operation: about 25 operations × this many requests stay near a minute.
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "15"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]


@pytest.fixture
def in_process_requests():
    """Requests served in this process keep the test's connection open (as Django's test client does)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(db, settings, in_process_requests):
    settings.API_THROTTLE_RATE = "1000000/min"
    admin = UserFactory(username="fuzzer-admin", is_superuser=True)
    contact = ContactFactory()
    category, segment = CategoryFactory(slug="news"), SegmentFactory(slug="vip")
    segment_membership_add(contact=contact, segment=segment, source="system")
    message = MessageFactory(segments=[segment], category=category)
    dispatch = Dispatch.objects.create(message=message, deliver_until=message.deadline(message.created_at))
    secret = api_key_create(acting_user=admin, name="fuzzer", scopes=ALL_SCOPES).secret
    ids = {"contacts": contact.pk, "categories": category.pk, "segments": segment.pk, "messages": message.pk,
           "dispatches": dispatch.pk}
    return {"secret": secret, "ids": ids, "slugs": {"slug": ["news", "vip"], "channel": ["email", "sms"]}}


schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)


def real_rows(case, world) -> None:
    """Point about half of the generated cases at existing rows.

    An erasure (``DELETE contacts/{id}/``) gets a contact of its own, made for that case: it reaches
    the service every time and never takes away the rows the other cases point at."""
    params = case.path_parameters or {}
    resource = case.path.split("/")[3]  # /api/v1/<resource>/...
    if isinstance(params.get("id"), int) and params["id"] % 2 == 0:  # the schema names the path's pk "id"
        erasure = case.method.upper() == "DELETE" and case.path == "/api/v1/contacts/{id}/"
        params["id"] = ContactFactory().pk if erasure else world["ids"][resource]
    for name, choices in world["slugs"].items():
        if isinstance(params.get(name), str) and len(params[name]) % 2 == 0:
            params[name] = choices[0] if "categories" in case.path or name == "channel" else choices[1]


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_its_schema_and_never_fails(case, world):
    real_rows(case, world)
    headers = {"Authorization": f"Token {world['secret']}"}
    contact_id = (case.path_parameters or {}).get("id")
    if case.path == "/api/v1/contacts/{id}/preferences/" and contact_id == world["ids"]["contacts"]:
        # The current ETag, so a fuzzed body on a real contact reaches the validation, not only the
        # precondition (412 has tests of its own).
        current = contact_selectors.contact_preferences(Contact.objects.get(pk=contact_id))
        headers["If-Match"] = preferences_etag(current)
    case.call_and_validate(headers=headers, checks=CHECKS)



# Scenarios of the stateful run, up to STATEFUL_STEPS steps each: about 20 s on CI.
STATEFUL_EXAMPLES = int(os.environ.get("API_STATEFUL_EXAMPLES", "100"))
STATEFUL_STEPS = 8
# The document's own links only (no inferred ones), with valid data: the stateless test above sends
# the invalid data; this one walks what an integration does with what it created.
links_schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application, config=SchemathesisConfig.from_dict({
    "generation": {"mode": "positive"}, "phases": {"stateful": {"inference": {"algorithms": []}}},
}))
FOLLOWED = {  # what scenarios do, by the links, with a contact they created
    ("GET", "/api/v1/contacts/{id}/"), ("PATCH", "/api/v1/contacts/{id}/"),
    ("GET", "/api/v1/contacts/{id}/preferences/"), ("PUT", "/api/v1/contacts/{id}/preferences/"),
    ("GET", "/api/v1/contacts/{id}/history/"),
}


def test_created_contacts_are_read_changed_and_their_history_read_by_following_the_links(world):
    """The state machine of the document's links: a contact (or segment) created by POST is fetched,
    updated, its preferences replaced with the ETag just read, its history read, in the orders
    Hypothesis picks; no answer is a 5xx and every answer conforms to the document."""
    secret, created, followed, read = world["secret"], set(), set(), {}

    class Workflow(links_schema.as_state_machine()):
        def setup(self):
            # Each scenario starts from the same rows (requests share this connection).
            self.savepoint = transaction.savepoint()

        def teardown(self):
            transaction.savepoint_rollback(self.savepoint)

        def before_call(self, case):
            # Retries with an Idempotency-Key have tests of their own; a generated key shared by two
            # different requests here would only be a 422.
            (case.headers or {}).pop("Idempotency-Key", None)
            # The links put what was just read (a contact, its preferences) into the write; generation
            # adds names of its own (fields, channels, categories, segments that do not exist: 400s
            # the stateless test covers). An integration writes back what it read: only the names the
            # read body holds stay, with the values generated or linked.
            held = read.get(((case.path_parameters or {}).get("id"), case.path))
            if case.method in ("PUT", "PATCH") and held and isinstance(case.body, dict):
                case.body = {
                    key: {name: item for name, item in value.items() if name in held[key]}
                    if isinstance(value, dict) and isinstance(held[key], dict) else value
                    for key, value in case.body.items() if key in held
                }

        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Token {secret}"}}

        def after_call(self, response, case):
            super().after_call(response, case)
            if case.method == "POST" and case.path == "/api/v1/contacts/" and response.status_code == 201:
                created.add(response.json()["id"])
                read[(response.json()["id"], "/api/v1/contacts/{id}/")] = response.json()
            elif case.method == "GET" and case.path.endswith("/preferences/") and response.status_code == 200:
                read[(case.path_parameters["id"], case.path)] = response.json()
            if (case.path_parameters or {}).get("id") in created and response.status_code < 300:
                followed.add((case.method, case.path))

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS[:-1], transport_kwargs=kwargs or None, recorder=self.recorder)

    Workflow.run(settings=settings(max_examples=STATEFUL_EXAMPLES, stateful_step_count=STATEFUL_STEPS, deadline=None,
                                   derandomize=True, suppress_health_check=list(HealthCheck)))
    assert FOLLOWED <= followed  # each of these was reached by a link, and succeeded, at least once

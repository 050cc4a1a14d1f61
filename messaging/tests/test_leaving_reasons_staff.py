"""Staff word, order and retire the reasons for leaving; the statistics group answers by choice."""

import re

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.urls import reverse

from contacts.models import StaffChange
from contacts.tests.factories import ContactFactory, UserFactory
from messaging import services
from messaging.models import LeavingReasonChoice, UnsubscribeFeedback
from messaging.selectors import message_leaving_costs

from .test_public_leaving_reason import reason, token
from .test_public_page import _no_rate_limit, delivered_send, page_url  # noqa: F401

pytestmark = pytest.mark.django_db
URL = reverse("messaging:leaving_reasons")


def member_of(client, group: str):
    user = UserFactory()
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return client


def rows_posted(**changes) -> dict:
    """The list as shown, with ``changes`` (``r<id>-<field>`` or ``new-<field>``) applied."""
    data = {}
    for choice in LeavingReasonChoice.objects.all():
        data.update({f"r{choice.pk}-label": choice.label, f"r{choice.pk}-label_fr": choice.label_fr,
                     f"r{choice.pk}-position": choice.position})
        if choice.active:
            data[f"r{choice.pk}-active"] = "on"
    data.update({"new-label": "", "new-label_fr": "", "new-position": ""})
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def answered(client, send, label: str) -> None:
    value = token(client.post(page_url(send), {"action": "unsubscribe"}))
    client.post(page_url(send), {"action": "reason", "reason_token": value, "reason": reason(label)})


def test_a_new_installation_offers_the_four_reasons_with_other_asking_for_text():
    assert list(LeavingReasonChoice.objects.values_list("label", "label_fr", "active", "asks_text")) == [
        ("Too many messages", "Trop de messages", True, False),
        ("Not relevant to me", "Cela ne me concerne pas", True, False),
        ("I never signed up", "Je ne me suis jamais inscrit", True, False),
        ("Other", "Autre", True, True),
    ]


def test_a_viewer_sees_the_reasons_and_cannot_change_them(client):
    member_of(client, "Viewers")
    page = client.get(URL).content.decode()
    assert "Too many messages" in page and 'id="view-only-note"' in page
    before = list(LeavingReasonChoice.objects.values_list("label", flat=True))
    other = LeavingReasonChoice.objects.get(label="Other")
    assert client.post(URL, rows_posted(**{f"r{other.pk}-label": "Else"})).status_code == 403
    assert list(LeavingReasonChoice.objects.values_list("label", flat=True)) == before


def test_an_editor_renames_reorders_retires_and_adds_in_one_save_audited(client):
    member_of(client, "Editors")
    too_many, other = (LeavingReasonChoice.objects.get(label=label) for label in ("Too many messages", "Other"))
    response = client.post(URL, rows_posted(**{
        f"r{too_many.pk}-label": "You write too often", f"r{too_many.pk}-label_fr": "Vous écrivez trop souvent",
        f"r{other.pk}-position": "1", f"r{other.pk}-active": None,
        "new-label": "Moved house", "new-label_fr": "J’ai déménagé", "new-position": "5", "new-active": "on",
    }))
    assert response.status_code == 302
    assert list(LeavingReasonChoice.objects.values_list("label", "active")) == [
        ("Other", False), ("Moved house", True), ("You write too often", True),
        ("Not relevant to me", True), ("I never signed up", True),
    ]
    audit = StaffChange.objects.filter(subject_type="leaving_reason")
    assert audit.get(subject_id=too_many.pk).changes["label"] == ["Too many messages", "You write too often"]
    assert audit.get(subject_id=other.pk).changes == {"active": [True, False], "position": [40, 1]}
    assert audit.filter(action="created").count() == 1
    page = client.get(URL).content.decode()
    shown = re.findall(r'name="r\d+-label" value="([^"]*)"', page)
    assert shown == ["Other", "Moved house", "You write too often", "Not relevant to me", "I never signed up"]


def test_an_empty_label_is_refused_and_nothing_changes(client):
    member_of(client, "Editors")
    too_many, other = (LeavingReasonChoice.objects.get(label=label) for label in ("Too many messages", "Other"))
    response = client.post(URL, rows_posted(**{f"r{too_many.pk}-label": "  ", f"r{other.pk}-label": "Else",
                                               "new-label": "Moved house"}))
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert LeavingReasonChoice.objects.filter(label__in=["Too many messages", "Other"]).count() == 2
    assert LeavingReasonChoice.objects.count() == 4


def test_a_french_label_without_a_default_one_adds_nothing(client):
    member_of(client, "Editors")
    response = client.post(URL, rows_posted(**{"new-label_fr": "Déménagé"}))
    assert "Enter the label in the default language too." in response.content.decode()
    assert LeavingReasonChoice.objects.count() == 4


def test_the_database_keeps_one_choice_asking_for_free_text():
    with pytest.raises(IntegrityError), transaction.atomic():
        LeavingReasonChoice.objects.create(label="Something else", asks_text=True)


def test_the_database_refuses_a_choice_without_a_label():
    with pytest.raises(IntegrityError), transaction.atomic():
        LeavingReasonChoice.objects.create(label="")


def test_a_choice_with_answers_cannot_be_deleted(client):
    answered(client, delivered_send(ContactFactory()), "Too many messages")
    with pytest.raises(ProtectedError):
        LeavingReasonChoice.objects.get(label="Too many messages").delete()


def test_the_message_counts_answers_by_choice_through_a_rename_and_a_retirement(client):
    staff = UserFactory(is_superuser=True)
    first = delivered_send(ContactFactory())
    message = first.message
    answered(client, first, "Too many messages")
    too_many = LeavingReasonChoice.objects.get(label="Too many messages")
    services.leaving_reason_update(choice=too_many, acting_user=staff, values={"label": "You write too often"})
    from .test_message_costs_grouped import another_send

    answered(client, another_send(message), "You write too often")
    answered(client, another_send(message), "Not relevant to me")
    services.leaving_reason_update(choice=LeavingReasonChoice.objects.get(label="Not relevant to me"),
                                   acting_user=staff, values={"active": False})
    _costs, reasons = message_leaving_costs(message=message)
    assert [(r.label, r.answers, r.active, r.former_labels) for r in reasons] == [
        ("You write too often", 2, True, ["Too many messages"]),
        ("Not relevant to me", 1, False, []),
    ]
    assert UnsubscribeFeedback.objects.count() == 3
    html = member_of(client, "Viewers").get(reverse("messaging:message_detail", args=[message.pk])).content.decode()
    assert "You write too often (2)" in html and "answered as: Too many messages" in html
    assert "no longer offered" in html

"""The optional reason asked after an unsubscribe on the page, stored with the event and the send."""

import re

import pytest

from contacts.models import PreferenceChange
from contacts.tests.factories import ContactFactory, UserFactory
from messaging import services
from messaging.models import LeavingReasonChoice, UnsubscribeFeedback

from .test_public_page import _no_rate_limit, delivered_send, page_url, unsubscribe_url  # noqa: F401

pytestmark = pytest.mark.django_db


def reason(label: str) -> str:
    """The id the page posts for the seeded choice of this label."""
    return str(LeavingReasonChoice.objects.get(label=label).pk)


def token(response) -> str:
    match = re.search(r'name="reason_token" value="([^"]+)"', response.content.decode())
    assert match, "the page asks for a reason"
    return match.group(1)


def test_a_reason_is_stored_with_the_dnc_event_and_the_send(client):
    send = delivered_send(ContactFactory())
    response = client.post(unsubscribe_url(send), {"action": "unsubscribe"})
    response = client.post(page_url(send), {"action": "reason", "reason_token": token(response),
                                            "reason": reason("Other"), "reason_text": "  Moving abroad  "})
    assert "Thank you for telling us." in response.content.decode()
    event = PreferenceChange.objects.get(contact=send.contact, kind="dnc", new_value="unsubscribed")
    feedback = UnsubscribeFeedback.objects.get()
    assert (feedback.change, feedback.send, feedback.label, feedback.text) == (event, send, "Other", "Moving abroad")


def test_unsubscribe_from_all_stores_the_reason_with_each_event_and_drops_text_without_other(client):
    send = delivered_send(ContactFactory())
    response = client.post(page_url(send), {"action": "unsubscribe_all"})
    client.post(page_url(send), {"action": "reason", "reason_token": token(response), "reason": reason("Too many messages"),
                                 "reason_text": "ignored"})
    assert sorted(UnsubscribeFeedback.objects.values_list("change__channel__slug", "choice__label", "text")) == [
        ("email", "Too many messages", ""), ("sms", "Too many messages", ""),
    ]


def test_the_question_is_optional_and_answering_twice_keeps_the_first(client):
    send = delivered_send(ContactFactory())
    value = token(client.post(page_url(send), {"action": "unsubscribe"}))
    assert "Thank you." in client.post(page_url(send), {"action": "reason", "reason_token": value}).content.decode()
    assert not UnsubscribeFeedback.objects.exists()
    client.post(page_url(send), {"action": "reason", "reason_token": value, "reason": reason("Not relevant to me")})
    client.post(page_url(send), {"action": "reason", "reason_token": value, "reason": reason("I never signed up")})
    assert list(UnsubscribeFeedback.objects.values_list("label", flat=True)) == ["Not relevant to me"]


def test_a_reason_token_of_another_send_stores_nothing(client):
    mine, theirs = delivered_send(ContactFactory()), delivered_send(ContactFactory())
    value = token(client.post(page_url(theirs), {"action": "unsubscribe"}))
    response = client.post(page_url(mine), {"action": "reason", "reason_token": value,
                                                "reason": reason("Too many messages")})
    assert "This form has expired" in response.content.decode()
    assert not UnsubscribeFeedback.objects.exists()


def test_one_click_asks_nothing(client):
    send = delivered_send(ContactFactory())
    response = client.post(unsubscribe_url(send), "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert 'name="reason_token"' not in response.content.decode()


def test_a_designed_page_asks_only_with_its_reason_block(client):
    staff = UserFactory(is_superuser=True)
    pages = {}
    for name, blocks in (("asks", [{"kind": "unsubscribe"}, {"kind": "reason"}]), ("silent", [{"kind": "unsubscribe"}])):
        page = services.page_create(acting_user=staff, name=name, default_language="en")
        services.page_version_save(page=page, acting_user=staff, language="en", blocks=blocks)
        pages[name] = services.page_publish(page=page, acting_user=staff)
    asks = client.post(page_url(delivered_send(ContactFactory(), preference_page=pages["asks"])), {"action": "unsubscribe"})
    silent = client.post(page_url(delivered_send(ContactFactory(), preference_page=pages["silent"])), {"action": "unsubscribe"})
    assert 'name="reason_token"' in asks.content.decode() and 'name="reason_token"' not in silent.content.decode()


def staff_reasons(**values) -> LeavingReasonChoice:
    return services.leaving_reason_create(acting_user=UserFactory(is_superuser=True), **values)


def test_the_page_offers_the_active_choices_in_staff_order_and_in_the_contacts_language(client):
    staff = UserFactory(is_superuser=True)
    services.leaving_reason_create(acting_user=staff, label="Moved house", label_fr="J’ai déménagé", position=1)
    never = LeavingReasonChoice.objects.get(label="I never signed up")
    services.leaving_reason_update(choice=never, acting_user=staff, values={"active": False})
    page = client.post(page_url(delivered_send(ContactFactory(locale="fr"))), {"action": "unsubscribe"}).content.decode()
    labels = re.findall(r'<label class="form-check-label" for="f-reason-\d+">([^<]+)</label>', page)
    assert labels == ["J’ai déménagé", "Trop de messages", "Cela ne me concerne pas", "Autre"]
    assert "Autre chose ? (avec « Autre »)" in page


def test_a_label_in_french_left_empty_shows_the_default_one(client):
    staff_reasons(label="Moved <house>", position=1)
    page = client.post(page_url(delivered_send(ContactFactory(locale="fr"))), {"action": "unsubscribe"}).content.decode()
    assert "Moved &lt;house&gt;" in page


def test_a_renamed_choice_keeps_its_answers_and_the_label_they_were_given_under(client):
    send = delivered_send(ContactFactory())
    value = token(client.post(page_url(send), {"action": "unsubscribe"}))
    client.post(page_url(send), {"action": "reason", "reason_token": value, "reason": reason("Too many messages")})
    choice = LeavingReasonChoice.objects.get(label="Too many messages")
    services.leaving_reason_update(choice=choice, acting_user=UserFactory(is_superuser=True),
                                   values={"label": "You write too often"})
    feedback = UnsubscribeFeedback.objects.get()
    assert (feedback.choice, feedback.label) == (choice, "Too many messages")


def test_a_deactivated_choice_is_not_offered_and_posting_it_stores_nothing(client):
    choice = LeavingReasonChoice.objects.get(label="Not relevant to me")
    services.leaving_reason_update(choice=choice, acting_user=UserFactory(is_superuser=True), values={"active": False})
    send = delivered_send(ContactFactory())
    response = client.post(page_url(send), {"action": "unsubscribe"})
    assert "Not relevant to me" not in response.content.decode()
    response = client.post(page_url(send), {"action": "reason", "reason_token": token(response), "reason": str(choice.pk)})
    assert "Thank you." in response.content.decode()
    assert not UnsubscribeFeedback.objects.exists()


@pytest.mark.parametrize("posted", ["", "abc", "99999999", "9" * 30, "-1"])
def test_a_reason_that_names_no_offered_choice_stores_nothing(client, posted):
    send = delivered_send(ContactFactory())
    value = token(client.post(page_url(send), {"action": "unsubscribe"}))
    response = client.post(page_url(send), {"action": "reason", "reason_token": value, "reason": posted})
    assert response.status_code == 200 and "Thank you." in response.content.decode()
    assert not UnsubscribeFeedback.objects.exists()


def test_with_no_choice_offered_the_question_is_not_asked(client):
    LeavingReasonChoice.objects.update(active=False)
    response = client.post(page_url(delivered_send(ContactFactory())), {"action": "unsubscribe"})
    assert 'name="reason_token"' not in response.content.decode()


def test_without_the_free_text_choice_the_page_asks_for_no_text(client):
    LeavingReasonChoice.objects.filter(asks_text=True).update(active=False)
    page = client.post(page_url(delivered_send(ContactFactory())), {"action": "unsubscribe"}).content.decode()
    assert 'name="reason_token"' in page and 'name="reason_text"' not in page


def test_the_plain_unsubscribe_page_asks_in_the_contacts_language(client):
    send = delivered_send(ContactFactory(locale="fr"), show_preferences=False)
    page = client.post(unsubscribe_url(send), {"action": "unsubscribe"}).content.decode()
    labels = re.findall(r'<label class="form-check-label" for="f-reason-\d+">([^<]+)</label>', page)
    assert labels == ["Trop de messages", "Cela ne me concerne pas", "Je ne me suis jamais inscrit", "Autre"]

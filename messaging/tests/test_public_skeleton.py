"""Pages that look alike share one rendered skeleton: each contact still gets exactly their own page,
and a change of anything the page shows is on the very next GET."""


import pytest
from django.template.loader import render_to_string
from django.utils import translation

from contacts.models import Category, Channel, PreferenceSettings, Segment
from contacts.services import channel_unsubscribe, contact_preferences_update
from contacts.tests.factories import CategoryFactory, ContactFactory, SegmentFactory
from messaging.public.tokens import send_token
from messaging.public import page as public_page
from messaging.public import render as public_render
from messaging.public import skeleton as public_skeleton

from .test_public_page import delivered_send, page_url, unsubscribe_url

pytestmark = pytest.mark.django_db

CHOICES = {
    "channels": {
        "email": {"frequency": {"number": 3, "unit": "week"}, "pause": {"from": "2031-05-01", "to": "2031-05-09"}},
        "sms": {"subscribed": True},
    },
    "preferred_channel": "sms",
    "categories": {"news": False, "offers": True},
    "segments": {"vip": True},
}


@pytest.fixture(autouse=True)
def _page(settings):
    settings.PUBLIC_RATELIMIT = "100000/m"
    PreferenceSettings.objects.filter(pk=1).update(show_segments=True)
    CategoryFactory(name="News & <views>", slug="news", description="What is new.")
    CategoryFactory(name="Offers", slug="offers", opt_in=True)
    SegmentFactory(name="VIP", slug="vip", public=True, public_name="Club members")


def rendered_alone(send, link: str) -> str:
    """The page rendered for this request only, without any shared skeleton."""
    token = send_token(send.pk)
    with translation.override(send.contact.locale):
        page = public_page.public_page_load(public_page.send_for_token(token))
        context = public_render.page_context(page, token, link, public_render.Outcome(), public_skeleton.Slots(shared=False))
        return render_to_string("public/preferences.html", context)


@pytest.mark.parametrize("locale", ["en", "fr"])
@pytest.mark.parametrize("link", ["preferences", "unsubscribe"])
def test_contacts_sharing_a_skeleton_each_get_exactly_their_own_page(client, locale, link):
    chooser, other = ContactFactory(locale=locale), ContactFactory(locale=locale)
    contact_preferences_update(contact=chooser, data=CHOICES, source="public_page", public_only=True)
    sends = [delivered_send(chooser), delivered_send(other)]
    url = page_url if link == "preferences" else unsubscribe_url

    first = client.get(url(sends[0])).content.decode()
    skeletons = len(public_skeleton.SKELETONS)
    second = client.get(url(sends[1])).content.decode()

    assert len(public_skeleton.SKELETONS) == skeletons  # the second page came from the first one's skeleton
    assert first == rendered_alone(sends[0], link)
    assert second == rendered_alone(sends[1], link)
    assert 'value="3"' in first and 'value="3"' not in second
    assert send_token(sends[1].pk) in second and send_token(sends[0].pk) not in second


def category_renamed(send):
    Category.objects.filter(slug="news").update(name="Headlines")
    return "Headlines"


def category_added(send):
    CategoryFactory(name="Events", slug="events")
    return "Events"


def segment_renamed(send):
    Segment.objects.filter(slug="vip").update(public_name="Friends")
    return "Friends"


def channel_renamed(send):
    Channel.objects.filter(slug="email").update(name="Electronic mail")
    return "Electronic mail"


def global_text_changed(send):
    PreferenceSettings.objects.filter(pk=1).update(unsubscribe_text="Sorry to see you go.")
    return "Sorry to see you go."


def contact_cap_set(send):
    data = {"channels": {"email": {"frequency": {"number": 7, "unit": "month"}}}}
    contact_preferences_update(contact=send.contact, data=data, source="public_page", public_only=True)
    return 'value="7"'


def contact_pause_set(send):
    data = {"channels": {"email": {"pause": {"from": "2031-06-01", "to": "2031-06-02"}}}}
    contact_preferences_update(contact=send.contact, data=data, source="public_page", public_only=True)
    return 'value="2031-06-02"'


def contact_unsubscribed(send):
    channel_unsubscribe(contact=send.contact, channel=send.channel, source="public_page")
    return 'id="status-unsubscribed"'


@pytest.mark.parametrize(
    "change",
    [category_renamed, category_added, segment_renamed, channel_renamed, global_text_changed,
     contact_cap_set, contact_pause_set, contact_unsubscribed],
)
def test_a_change_of_what_the_page_shows_is_on_the_next_get(client, change):
    send = delivered_send(ContactFactory())
    before = client.get(page_url(send)).content.decode()

    expected = change(send)

    assert expected not in before
    assert expected in client.get(page_url(send)).content.decode()


def test_switching_an_area_off_globally_hides_it_on_the_next_get(client):
    send = delivered_send(ContactFactory())
    assert 'id="area-categories"' in client.get(page_url(send)).content.decode()
    PreferenceSettings.objects.filter(pk=1).update(show_categories=False)
    assert 'id="area-categories"' not in client.get(page_url(send)).content.decode()


def test_switching_an_area_off_on_the_message_hides_it_on_the_next_get(client):
    send = delivered_send(ContactFactory())
    assert 'id="area-pause"' in client.get(page_url(send)).content.decode()
    type(send.message).objects.filter(pk=send.message_id).update(show_pause=False)
    assert 'id="area-pause"' not in client.get(page_url(send)).content.decode()


def test_a_category_made_private_leaves_the_page_on_the_next_get(client):
    send = delivered_send(ContactFactory())
    assert "Offers" in client.get(page_url(send)).content.decode()
    Category.objects.filter(slug="offers").update(public=False)
    assert "Offers" not in client.get(page_url(send)).content.decode()


def test_a_form_shown_again_with_its_errors_keeps_what_was_typed(client):
    send = delivered_send(ContactFactory())
    response = client.post(page_url(send), {
        "action": "save", "channels.email.subscribed": "on", "channels.email.frequency.number": "<b>12</b>",
        "channels.email.frequency.unit": "week", "categories": ["news"],
    })
    html = response.content.decode()
    assert 'id="error-summary"' in html
    assert 'value="&lt;b&gt;12&lt;/b&gt;"' in html


def test_the_skeleton_cache_stays_bounded(client, monkeypatch):
    monkeypatch.setattr(public_skeleton, "SKELETONS_MAX", 3)
    for n in range(6):
        Category.objects.filter(slug="news").update(name=f"News {n}")
        client.get(page_url(delivered_send(ContactFactory())))
    assert len(public_skeleton.SKELETONS) <= 3

"""What staff typed or a contact holds is text in an email's HTML part and in the public page's skeletons."""

from email import message_from_bytes, policy

from django.core import mail

from contacts.models import Channel, PreferenceSettings
from messaging.models import MessageVersion
from messaging.public.skeleton import Slots

from .conftest import run_dispatch
from .factories import MessageFactory, aware

NOW = aware(2026, 3, 5, 12, 0)
PAYLOAD = "\"'><img src=x onerror=alert(1)>"
ESCAPED = "&quot;&#x27;&gt;&lt;img src=x onerror=alert(1)&gt;"


def test_a_first_name_and_the_unsubscribe_text_are_text_in_the_html_part(members):
    PreferenceSettings.objects.filter(pk=1).update(unsubscribe_text=f"Leave {PAYLOAD} here: {{unsubscribe_url}}")
    contact = members(first_name=f"Ana {PAYLOAD}")
    message = MessageFactory(channels=[], segments=[members.segment])
    MessageVersion.objects.create(
        message=message, channel=Channel.objects.get(slug="email"), subject="Hello {first_name}",
        text_body="Hi {first_name}", html_body='<p title="{first_name}">Hi {first_name}</p>',
    )
    run_dispatch(message, now=NOW)

    (sent,) = mail.outbox
    email = message_from_bytes(sent.message().as_bytes(), policy=policy.default)
    html = email.get_body(("html",)).get_content()
    assert "<img" not in html
    assert f'<p title="Ana {ESCAPED}">Hi Ana {ESCAPED}</p>' in html
    assert f"Leave {ESCAPED} here: <a href=" in html
    # The text part is text: nothing to escape there.
    assert email.get_body(("plain",)).get_content().startswith(f"Hi Ana {PAYLOAD}")
    assert sent.recipients() == [contact.email]


def test_a_value_filled_into_a_shared_skeleton_is_escaped():
    slot = Slots(shared=True)
    skeleton = f'<input value="{slot(PAYLOAD)}"><p>{slot("<b>bold</b>")}</p>'
    assert slot.fill(skeleton) == f'<input value="{ESCAPED}"><p>&lt;b&gt;bold&lt;/b&gt;</p>'

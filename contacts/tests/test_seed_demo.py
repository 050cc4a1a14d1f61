import pytest
from django.core.management import call_command
from django.db.models import F

from contacts.models import (
    CategorySubscription,
    ChannelPreference,
    Contact,
    DoNotContact,
    PreferenceChange,
    SegmentMembership,
)

pytestmark = pytest.mark.django_db

N = 2000


@pytest.fixture
def seeded():
    call_command("seed_demo", contacts=N, no_progress=True, stdout=None)


def share(count: int) -> float:
    return count / N


def test_seed_demo_spreads_do_not_contact_over_every_reason(seeded):
    email_dnc = DoNotContact.objects.filter(channel__slug="email")
    assert 0.03 < share(email_dnc.count()) < 0.08
    assert 0.01 < share(DoNotContact.objects.filter(channel__slug="sms").count()) < 0.06
    assert set(DoNotContact.objects.values_list("reason", flat=True)) == {"unsubscribed", "bounced", "complaint", "manual"}


def test_seed_demo_sets_caps_pauses_and_preferred_channels(seeded):
    prefs = ChannelPreference.objects
    assert 0.10 < share(prefs.filter(channel__slug="email", cap_number__isnull=False).count()) < 0.20
    assert prefs.filter(channel__slug="sms", cap_number__isnull=False).exists()
    assert set(prefs.exclude(cap_unit="").values_list("cap_unit", flat=True)) == {"day", "week", "month"}
    assert prefs.filter(pause_from__isnull=False).count() > 20
    assert 0.10 < share(prefs.filter(preferred=True, channel__slug="sms").count()) < 0.25
    assert 0.15 < share(prefs.filter(preferred=True, channel__slug="email").count()) < 0.35
    # The preferred channel is always one the contact can receive.
    assert not prefs.filter(preferred=True, contact__dnc_entries__channel=F("channel")).exists()


def test_seed_demo_opts_contacts_out_of_categories_and_in_to_opt_in_ones(seeded):
    subscriptions = CategorySubscription.objects
    assert subscriptions.filter(status="unsubscribed").count() > 100
    assert subscriptions.filter(status="subscribed", category__opt_in=True).count() > 100
    assert SegmentMembership.objects.filter(removed=True).exists()
    assert Contact.objects.filter(phone="").exists() and Contact.objects.filter(locale="fr").exists()


def test_seed_demo_writes_history_for_what_it_imports(seeded):
    assert PreferenceChange.objects.filter(kind="dnc", source="import").count() == DoNotContact.objects.count()


def test_seed_demo_is_idempotent_and_extends(seeded):
    counts = (Contact.objects.count(), DoNotContact.objects.count(), PreferenceChange.objects.count())
    call_command("seed_demo", contacts=N, no_progress=True)
    assert (Contact.objects.count(), DoNotContact.objects.count(), PreferenceChange.objects.count()) == counts
    call_command("seed_demo", contacts=N + 10, no_progress=True)
    assert Contact.objects.count() == N + 10
    Contact.objects.create(email="new@example.com")  # the sequence continues after the copied ids


def test_seed_demo_prints_the_staff_login(capsys):
    call_command("seed_demo", contacts=5, no_progress=True)
    assert "staff login: admin / demo-password" in capsys.readouterr().out

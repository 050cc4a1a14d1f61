"""What an import does to contacts: dry run, matching, policies, never resubscribing, one file at a time, cancel."""

import pytest
from django.db import connection

from contacts.imports.runner import ImportRefused, import_cancel, import_run
from contacts.models import (
    CategorySubscription,
    ChannelPreference,
    Contact,
    ContactImport,
    DoNotContact,
    PreferenceChange,
    SegmentMembership,
)
from contacts.services import (
    Source,
    category_subscribe,
    category_unsubscribe,
    channel_unsubscribe,
    contact_preferred_channel_set,
    segment_membership_add,
    segment_membership_remove,
)
from contacts.services.fields import contact_fields_update

from .factories import CategoryFactory, ContactFactory, ContactFieldFactory
from .imports import checked, csv_bytes, import_file, imported, uploaded

pytestmark = pytest.mark.django_db

STAFF = Source("staff:alice")


@pytest.fixture(autouse=True)
def import_dir(settings, tmp_path):
    settings.IMPORT_DIR = tmp_path


def table_sizes() -> dict[str, int]:
    sizes = {}
    with connection.cursor() as cursor:
        for table in ("contacts_contact", "contacts_donotcontact", "contacts_categorysubscription",
                      "contacts_segmentmembership", "contacts_preferencechange", "contacts_channelpreference"):
            cursor.execute(f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t")
            sizes[table] = cursor.fetchone()
    return sizes


def test_the_dry_run_counts_what_would_change_and_writes_nothing(email, category, segment):
    ContactFieldFactory(key="company", type="text")
    ContactFactory(email="old@example.com", first_name="Old", last_name="")
    ContactFactory(email="same@example.com", first_name="Same", last_name="Same")
    data = csv_bytes(
        "email,first_name,last_name,company,email_ok,news,group",
        "new@example.com,New,Person,Acme,no,no,yes",
        "OLD@example.com,Old,Filled,,,,",
        "same@example.com,Same,Same,,,,",
        "bad-address,Bad,Row,,,,",
    )
    before = table_sizes()
    contact_import = checked(uploaded(data), {
        "email": "contact:email", "first_name": "contact:first_name", "last_name": "contact:last_name",
        "company": "field:company", "email_ok": "channel:email", "news": f"category:{category.slug}",
        "group": f"segment:{segment.slug}",
    })
    assert table_sizes() == before
    assert contact_import.status == ContactImport.Status.CHECKED
    assert contact_import.check_counts == {"new": 1, "updated": 1, "unchanged": 1, "rejected": 1, "kept": 0}
    assert list(contact_import.problems.values_list("line", "column", "value")) == [(5, "email", "bad-address")]

    imported(contact_import)
    assert contact_import.import_counts == contact_import.check_counts
    new = Contact.objects.get(email="new@example.com")
    assert new.fields == {"company": "Acme"}
    assert DoNotContact.objects.get(contact=new, channel=email).reason == "manual"
    assert CategorySubscription.objects.get(contact=new, category=category).status == "unsubscribed"
    assert SegmentMembership.objects.filter(contact=new, segment=segment, removed=False).exists()
    assert Contact.objects.get(email="old@example.com").last_name == "Filled"
    sources = set(PreferenceChange.objects.values_list("source", flat=True))
    assert sources == {f"import:{contact_import.pk}"}
    assert sorted(PreferenceChange.objects.filter(contact=new).values_list("kind", "subject", "old_value", "new_value")) == [
        ("category", category.slug, None, "unsubscribed"),
        ("created", "", None, {"company": "Acme"}),
        ("dnc", "email", None, "manual"),
        ("segment", segment.slug, None, "member"),
    ]


@pytest.mark.parametrize("reason", ["unsubscribed", "bounced", "manual"])
def test_an_import_never_lifts_a_do_not_contact(email, reason):
    contact = ContactFactory(email="dnc@example.com")
    channel_unsubscribe(contact=contact, channel=email, source=STAFF, reason=reason)
    contact_import = import_file(csv_bytes("email,ok", "dnc@example.com,yes"), {"email": "contact:email", "ok": "channel:email"})
    assert DoNotContact.objects.get(contact=contact, channel=email).reason == reason
    assert not PreferenceChange.objects.filter(source__startswith="import").exists()
    kept = contact_import.problems.get(phase="import", kind="kept")
    assert (kept.line, kept.column) == (2, "ok") and "never resubscribes" in kept.reason
    assert contact_import.import_counts["kept"] == 1


def test_an_import_never_resubscribes_to_a_category_the_contact_left(category):
    contact = ContactFactory(email="left@example.com")
    category_unsubscribe(contact=contact, category=category, source="public_page")
    contact_import = import_file(csv_bytes("email,news", "left@example.com,yes"),
                                 {"email": "contact:email", "news": f"category:{category.slug}"}, policy="overwrite")
    assert CategorySubscription.objects.get(contact=contact, category=category).status == "unsubscribed"
    assert contact_import.problems.get(phase="import").kind == "kept"


def test_an_import_never_adds_back_a_contact_who_left_a_segment(segment):
    contact = ContactFactory(email="left@example.com")
    segment_membership_add(contact=contact, segment=segment, source=STAFF)
    segment_membership_remove(contact=contact, segment=segment, source="public_page")
    contact_import = import_file(csv_bytes("email,group", "left@example.com,yes"),
                                 {"email": "contact:email", "group": f"segment:{segment.slug}"}, policy="overwrite")
    assert SegmentMembership.objects.get(contact=contact, segment=segment).removed
    assert contact_import.problems.get(phase="import").kind == "kept"


def test_an_opt_out_in_the_file_applies_over_a_subscription_and_ends_a_preferred_channel(email, category):
    contact = ContactFactory(email="sub@example.com")
    category_subscribe(contact=contact, category=CategoryFactory(slug="other", opt_in=True), source=STAFF)
    category_subscribe(contact=contact, category=category, source=STAFF)  # no effect: opt-out category
    contact_preferred_channel_set(contact=contact, channel=email, source=STAFF)
    import_file(csv_bytes("email,ok,beta", "sub@example.com,no,no"),
                {"email": "contact:email", "ok": "channel:email", "beta": "category:other"})
    assert CategorySubscription.objects.get(contact=contact, category__slug="other").status == "unsubscribed"
    assert not ChannelPreference.objects.filter(contact=contact).exists()
    history = PreferenceChange.objects.filter(contact=contact, source__startswith="import")
    assert sorted(history.values_list("kind", "old_value", "new_value")) == [
        ("category", "subscribed", "unsubscribed"), ("dnc", None, "manual"), ("preferred_channel", "email", None)]


@pytest.mark.parametrize(
    ("policy", "expected_first", "expected_last", "expected_company"),
    [("empty_only", "Kept", "Filled", "Old Co"), ("overwrite", "New", "Filled", "New Co"), ("skip", "Kept", "", "Old Co")],
)
def test_the_policy_decides_what_happens_to_existing_contacts(policy, expected_first, expected_last, expected_company):
    ContactFieldFactory(key="company", type="text")
    contact = ContactFactory(email="ana@example.com", first_name="Kept", last_name="")
    contact_fields_update(contact=contact, values={"company": "Old Co"}, source=STAFF)
    import_file(csv_bytes("email,first,last,company", "ana@example.com,New,Filled,New Co"),
                {"email": "contact:email", "first": "contact:first_name", "last": "contact:last_name",
                 "company": "field:company"}, policy=policy)
    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name, contact.fields["company"]) == (expected_first, expected_last, expected_company)
    assert Contact.objects.count() == 1


def test_emails_match_after_normalisation_and_whatever_their_case():
    contact = ContactFactory(email="Eva.Lind@example.com", first_name="")
    # A Kelvin sign is a K after NFKC; spaces around and the domain's case do not matter.
    import_file(csv_bytes("email,first", "  EVA.LIND@EXAMPLE.COM ,Eva", "\u212aim@example.com,Kim"),
                {"email": "contact:email", "first": "contact:first_name"})
    contact.refresh_from_db()
    assert contact.first_name == "Eva"
    assert Contact.objects.count() == 2 and Contact.objects.filter(email="Kim@example.com").exists()


def test_phones_match_after_normalisation_and_an_ambiguous_phone_is_rejected():
    ContactFactory(phone="+33612345678", first_name="")
    ContactFactory(phone="+33700000001")
    ContactFactory(phone="+33700000001")
    contact_import = import_file(csv_bytes("phone,first", "+３３６１２３４５６７８,Fullwidth", "+33700000001,Twice"),
                                 {"phone": "contact:phone", "first": "contact:first_name"}, match_on="phone")
    assert Contact.objects.get(phone="+33612345678").first_name == "Fullwidth"
    assert contact_import.problems.get(phase="import").line == 3
    assert Contact.objects.count() == 3


def test_the_same_email_twice_in_a_file_imports_the_first_row_only():
    contact_import = import_file(csv_bytes("email,first", "ana@example.com,Ana", "ANA@example.com,Other"),
                                 {"email": "contact:email", "first": "contact:first_name"})
    assert list(Contact.objects.values_list("first_name", flat=True)) == ["Ana"]
    assert "line 2" in contact_import.problems.get(phase="import", line=3).reason


def test_the_same_file_cannot_be_imported_twice_at_the_same_time():
    data = csv_bytes("email", "ana@example.com")
    first = uploaded(data)
    with pytest.raises(ImportRefused, match=f"import {first.pk}"):
        uploaded(data)
    import_cancel(contact_import=first)
    assert uploaded(data).pk != first.pk


def test_the_database_refuses_a_second_active_import_of_one_file():
    first = uploaded(csv_bytes("email", "ana@example.com"))
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        ContactImport.objects.create(file_name="x", stored_path="x", size=1, sha256=first.sha256, encoding="utf-8",
                                     delimiter=",", created_by="bob")


def test_cancel_stops_the_import_after_the_chunk_being_written(settings):
    settings.IMPORT_CHUNK_ROWS = 2
    contact_import = checked(uploaded(csv_bytes("email", *(f"p{n}@example.com" for n in range(6)))),
                             {"email": "contact:email"})
    from contacts.imports.runner import import_start

    import_start(contact_import=contact_import, enqueue=False)

    def cancel_after_first_chunk(done):
        if done == 2:
            import_cancel(contact_import=contact_import)

    assert import_run(import_id=contact_import.pk, progress=cancel_after_first_chunk) == ContactImport.Status.CANCELLED
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.CANCELLED and contact_import.rows_done == 2
    assert Contact.objects.count() == 2


def test_a_runner_whose_checkpoint_was_passed_by_another_writes_nothing(settings):
    settings.IMPORT_CHUNK_ROWS = 2
    contact_import = checked(uploaded(csv_bytes("email", *(f"p{n}@example.com" for n in range(4)))),
                             {"email": "contact:email"})
    from contacts.imports.runner import import_start

    import_start(contact_import=contact_import, enqueue=False)
    # A second delivery of the task starts from 0 while the first has committed its first chunk.
    stale = ContactImport.objects.get(pk=contact_import.pk)
    ContactImport.objects.filter(pk=contact_import.pk).update(rows_done=0)
    import_run(import_id=contact_import.pk)
    assert Contact.objects.count() == 4
    ContactImport.objects.filter(pk=contact_import.pk).update(status="importing", rows_done=2)
    from contacts.imports.rows import RowCleaner
    from contacts.imports.runner import _chunk_check, _chunk_commit

    cleaner = RowCleaner(header=stale.header, mapping=stale.mapping, match_on="email")
    chunk = _chunk_check(stale, cleaner, [(2, ["p9@example.com"])], {}, {}, start=0)
    assert _chunk_commit(stale, chunk, {}, True, "import", analyse=True) == "importing"
    assert Contact.objects.count() == 4


def test_running_a_finished_import_again_changes_nothing():
    contact_import = import_file(csv_bytes("email", "ana@example.com"), {"email": "contact:email"})
    assert import_run(import_id=contact_import.pk) == ContactImport.Status.DONE
    assert Contact.objects.count() == 1


def test_an_import_whose_file_went_away_fails_with_a_message_instead_of_hanging():
    contact_import = uploaded(csv_bytes("email", "ana@example.com"))
    from pathlib import Path

    from contacts.imports.runner import import_mapping_set

    import_mapping_set(contact_import=contact_import, mapping=["contact:email"], match_on="email",
                       policy="empty_only", enqueue=False)
    Path(contact_import.stored_path).unlink()
    assert import_run(import_id=contact_import.pk) == ContactImport.Status.FAILED
    contact_import.refresh_from_db()
    assert "upload it again" in contact_import.error and not Contact.objects.exists()


def test_a_contact_the_import_creates_has_one_history_row_with_its_values_and_an_existing_one_a_row_per_change():
    ContactFieldFactory(key="company", type="text")
    ContactFieldFactory(key="size", type="number")
    old = ContactFactory(email="old@example.com")
    contact_fields_update(contact=old, values={"company": "Old Co"}, source=STAFF)
    contact_import = import_file(csv_bytes("email,company,size", "new@example.com,Acme,12", "old@example.com,New Co,3",
                                           "bare@example.com,,"),
                                 {"email": "contact:email", "company": "field:company", "size": "field:size"},
                                 policy="overwrite")
    label = contact_import.source_label

    def rows(email):
        return sorted(PreferenceChange.objects.filter(contact__email=email, source=label).values_list(
            "kind", "subject", "old_value", "new_value"))

    assert rows("new@example.com") == [("created", "", None, {"company": "Acme", "size": 12})]
    assert rows("bare@example.com") == [("created", "", None, {})]
    assert rows("old@example.com") == [("field", "company", "Old Co", "New Co"), ("field", "size", None, 3)]

"""The import's set-based path and the services agree: the same rows give the same contacts and history rows."""

import pytest

from contacts.imports.csvfile import CsvLayout, text_rows
from contacts.imports.rows import RowCleaner
from contacts.models import (
    CategorySubscription,
    ChannelPreference,
    Contact,
    ContactImport,
    DoNotContact,
    PreferenceChange,
    SegmentMembership,
)
from contacts.rules import MEMBER, REMOVED, import_keeps_opt_out
from contacts.services import (
    Source,
    category_subscribe,
    category_unsubscribe,
    channel_unsubscribe,
    contact_preferred_channel_set,
    contact_save,
    segment_membership_add,
    segment_membership_remove,
)
from contacts.services.audit import change_record
from contacts.services.fields import contact_fields_update

from .factories import CategoryFactory, ContactFactory, ContactFieldFactory, SegmentFactory
from .imports import csv_bytes, import_file

pytestmark = pytest.mark.django_db
STAFF = Source("staff:alice")
HEADER = "email,first_name,last_name,company,size,email_ok,sms_ok,news,beta,group"
ROWS = [
    # new contacts
    "{n}new1@{d},Ann,Able,Acme,12,yes,no,yes,yes,yes",
    "{n}new2@{d},Bo,,,,no,,no,no,no",
    # existing contacts in every state (see existing())
    "{n}plain@{d},Paul,Plain,Globex,7,no,yes,no,yes,yes",
    "{n}dnc@{d},,Dee,,,yes,yes,yes,,",
    "{n}unsub@{d},,,Initech,,,,yes,yes,",
    "{n}left@{d},,,,,,,,,yes",
    "{n}member@{d},,,,3,,no,,no,no",
    "{n}preferred@{d},,,,,no,,,,",
    "{n}same@{d},Sam,Same,,,,,,,",
]


def existing(domain: str, email, sms, news, beta, group) -> None:
    def make(name, **values):
        return ContactFactory(email=f"{name}@{domain}", first_name=values.get("first", ""), last_name="", phone="")

    make("plain", first="Old")
    dnc = make("dnc")
    channel_unsubscribe(contact=dnc, channel=email, source="public_page")
    unsub = make("unsub")
    category_unsubscribe(contact=unsub, category=news, source="public_page")
    category_unsubscribe(contact=unsub, category=beta, source="public_page")
    contact_fields_update(contact=unsub, values={"company": "Old Co", "size": "1"}, source=STAFF)
    left = make("left")
    segment_membership_add(contact=left, segment=group, source=STAFF)
    segment_membership_remove(contact=left, segment=group, source="public_page")
    member = make("member")
    segment_membership_add(contact=member, segment=group, source=STAFF)
    category_subscribe(contact=member, category=beta, source=STAFF)
    preferred = make("preferred")
    contact_preferred_channel_set(contact=preferred, channel=email, source=STAFF)
    same = ContactFactory(email=f"same@{domain}", first_name="Sam", last_name="Same", phone="")
    assert same


def services_apply(data: bytes, mapping: list[str], *, label: str, policy: str) -> None:
    """The reference: each row through the services, with the import's rules (never resubscribe, policy)."""
    header = data.decode().splitlines()[0].split(",")
    cleaner = RowCleaner(header=header, mapping=mapping, match_on="email")
    source = Source(label)
    import tempfile
    from pathlib import Path

    with tempfile.NamedTemporaryFile(suffix=".csv") as handle:
        handle.write(data)
        handle.flush()
        for line, cells in text_rows(Path(handle.name), CsvLayout("utf-8-sig", ",", header)):
            row = cleaner.clean(line, cells)
            contact = Contact.objects.filter(email__iexact=row.key).first()
            if contact is None:
                # A contact an import creates: its initial values, then one "created" row holding them.
                contact = contact_save(contact=Contact(**row.contact, fields=row.fields), source=source)
                change_record(contact=contact, kind=PreferenceChange.Kind.CREATED, source=source, old=None,
                              new=row.fields)
                fields = {}
            else:
                for name, value in row.contact.items():
                    if policy == "overwrite" or getattr(contact, name) == "":
                        setattr(contact, name, value)
                contact = contact_save(contact=contact, source=source)
                fields = {k: v for k, v in row.fields.items() if policy == "overwrite" or k not in contact.fields}
            if fields:
                contact_fields_update(contact=contact, values=fields, source=source)
            for kind, target, wanted in row.preferences:
                current = _current(contact, kind, target)
                if wanted and import_keeps_opt_out(kind=kind, current=current):
                    continue
                if kind == "channel" and not wanted:
                    channel_unsubscribe(contact=contact, channel=_get("channel", target), source=source)
                elif kind == "category" and wanted and current is None:
                    category_subscribe(contact=contact, category=_get("category", target), source=source)
                elif kind == "category" and not wanted:
                    category_unsubscribe(contact=contact, category=_get("category", target), source=source)
                elif kind == "segment" and wanted:
                    segment_membership_add(contact=contact, segment=_get("segment", target), source=source)
                elif kind == "segment":
                    segment_membership_remove(contact=contact, segment=_get("segment", target), source=source)


def _get(kind, pk):
    from contacts.models import Category, Channel, Segment

    return {"channel": Channel, "category": Category, "segment": Segment}[kind].objects.get(pk=pk)


def _current(contact, kind, target):
    if kind == "channel":
        return DoNotContact.objects.filter(contact=contact, channel_id=target).values_list("reason", flat=True).first()
    if kind == "category":
        return CategorySubscription.objects.filter(contact=contact, category_id=target).values_list("status", flat=True).first()
    membership = SegmentMembership.objects.filter(contact=contact, segment_id=target).first()
    return None if membership is None else REMOVED if membership.removed else MEMBER


def snapshot(domain: str, label: str) -> dict:
    def who(contact):
        return contact.email.split("@")[0]

    contacts = Contact.objects.filter(email__endswith=f"@{domain}")
    return {
        "contacts": sorted((who(c), c.first_name, c.last_name, c.locale, c.time_zone, c.fields) for c in contacts),
        "dnc": sorted((who(d.contact), d.channel.slug, d.reason) for d in DoNotContact.objects.filter(contact__in=contacts)),
        "categories": sorted((who(s.contact), s.category.slug, s.status)
                             for s in CategorySubscription.objects.filter(contact__in=contacts)),
        "segments": sorted((who(m.contact), m.segment.slug, m.removed)
                           for m in SegmentMembership.objects.filter(contact__in=contacts)),
        "channel_preferences": sorted((who(p.contact), p.channel.slug, p.preferred)
                                      for p in ChannelPreference.objects.filter(contact__in=contacts)),
        "history": sorted(
            (who(h.contact), h.kind, h.channel.slug if h.channel else None, h.category_id, h.segment_id, h.subject,
             repr(h.old_value), repr(h.new_value))
            for h in PreferenceChange.objects.filter(contact__in=contacts, source=label)
        ),
    }


@pytest.mark.parametrize("policy", ["empty_only", "overwrite"])
def test_the_import_writes_what_the_services_write_for_the_same_rows(email, sms, policy):
    ContactFieldFactory(key="company", type="text")
    ContactFieldFactory(key="size", type="number")
    news, beta = CategoryFactory(slug="news"), CategoryFactory(slug="beta", opt_in=True)
    group = SegmentFactory(slug="group")
    existing("a.example", email, sms, news, beta, group)
    existing("b.example", email, sms, news, beta, group)
    targets = {"email": "contact:email", "first_name": "contact:first_name", "last_name": "contact:last_name",
               "company": "field:company", "size": "field:size", "email_ok": "channel:email", "sms_ok": "channel:sms",
               "news": "category:news", "beta": "category:beta", "group": "segment:group"}

    contact_import = import_file(csv_bytes(HEADER, *(row.format(n="", d="a.example") for row in ROWS)), targets,
                                 policy=policy)
    assert contact_import.status == ContactImport.Status.DONE
    label = contact_import.source_label
    mapping = [targets[name] for name in HEADER.split(",")]
    services_apply(csv_bytes(HEADER, *(row.format(n="", d="b.example") for row in ROWS)), mapping, label=label, policy=policy)

    imported, reference = snapshot("a.example", label), snapshot("b.example", label)
    assert imported["history"]  # the scenario changes things
    for part in reference:
        assert imported[part] == reference[part], part

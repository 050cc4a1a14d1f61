"""Each rule of contacts/rules.py and its SQL twin give the same answer on every case."""

import datetime
import itertools

import pytest
from django.db import connection

from contacts.rules import (
    category_block,
    category_block_sql,
    effective_cap,
    effective_cap_sql,
    paused_on,
    paused_on_sql,
)

pytestmark = pytest.mark.django_db


def sql_value(expression: str, params: dict):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {expression}", params)
        return cursor.fetchone()[0]


@pytest.mark.parametrize(("opt_in", "status"), list(itertools.product([False, True], [None, "subscribed", "unsubscribed"])))
def test_category_block_is_the_same_in_sql(opt_in, status):
    expression = category_block_sql(status="%(status)s::text", opt_in="%(opt_in)s")
    assert sql_value(expression, {"status": status, "opt_in": opt_in}) == category_block(opt_in=opt_in, status=status)


@pytest.mark.parametrize(
    ("own", "default"),
    list(itertools.product([(None, ""), (3, "week")], [(None, ""), (0, ""), (5, "day"), (5, "")])),
)
def test_effective_cap_is_the_same_in_sql(own, default):
    number, unit = effective_cap_sql(
        own_number="%(own_number)s::int", own_unit="%(own_unit)s::text",
        default_number="%(default_number)s::int", default_unit="%(default_unit)s::text",
    )
    params = {"own_number": own[0], "own_unit": own[1], "default_number": default[0] or 0, "default_unit": default[1]}
    in_sql = sql_value(f"ROW({number}, {unit})", params)
    expected = effective_cap(own[0], own[1], default[0], default[1])
    assert (None if in_sql == "(,)" else in_sql) == (None if expected is None else f"({expected[0]},{expected[1]})")


@pytest.mark.parametrize("day", [datetime.date(2031, 4, 30), datetime.date(2031, 5, 1), datetime.date(2031, 5, 9),
                                 datetime.date(2031, 5, 10)])
@pytest.mark.parametrize("pause", [(None, None), (datetime.date(2031, 5, 1), datetime.date(2031, 5, 9))])
def test_paused_on_is_the_same_in_sql(day, pause):
    expression = paused_on_sql(pause_from="%(start)s::date", pause_to="%(end)s::date", day="%(day)s::date")
    in_sql = sql_value(f"coalesce({expression}, false)", {"start": pause[0], "end": pause[1], "day": day})
    assert in_sql == paused_on(pause[0], pause[1], day)


@pytest.mark.parametrize(("address", "dnc"), list(itertools.product(["", "a@example.com"], [False, True])))
def test_channel_reachable_is_the_same_in_sql_and_as_a_contact_filter(address, dnc):
    from contacts.models import Contact, DoNotContact
    from contacts.rules import channel_reachable, channel_reachable_q, channel_reachable_sql
    from contacts.tests.factories import ContactFactory, channel

    expected = channel_reachable(has_address=bool(address), dnc=dnc)
    in_sql = channel_reachable_sql(has_address="%(address)s::text <> ''", dnc_missing="NOT %(dnc)s")
    assert sql_value(in_sql, {"address": address, "dnc": dnc}) == expected
    contact = ContactFactory(email=address)
    if dnc:
        DoNotContact.objects.create(contact=contact, channel=channel("email"), reason="manual", source="system")
    assert Contact.objects.filter(channel_reachable_q(channel("email")), pk=contact.pk).exists() == expected

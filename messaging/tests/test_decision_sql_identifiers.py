import datetime

import pytest

from messaging.engine.decision.rules import MessagePlan, PlannedChannel
from messaging.engine.decision.sql import UnknownAddressColumn, decision_sql


def plan_with_address_field(address_field: str) -> MessagePlan:
    channel = PlannedChannel(id=1, slug="email", address_field=address_field, default_cap_number=None,
                             default_cap_unit="")
    return MessagePlan(message_id=1, channels=(channel,), deliver_until=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))


def test_an_address_field_that_is_not_a_contact_column_never_reaches_the_sql_text():
    with pytest.raises(UnknownAddressColumn):
        decision_sql(plan_with_address_field('email" IS NOT NULL OR "phone'), "SELECT 1 AS contact_id")


def test_a_known_address_field_is_a_column_of_the_statement():
    assert 'c."phone"' in decision_sql(plan_with_address_field("phone"), "SELECT 1 AS contact_id")

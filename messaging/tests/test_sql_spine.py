import pytest

from messaging.sql import SqlTemplateError, sql_compose


def test_a_template_part_nobody_gave_fails_before_the_database_sees_it():
    with pytest.raises(SqlTemplateError, match="candidates"):
        sql_compose("SELECT id FROM {contacts} WHERE id IN ({candidates})")


def test_a_part_the_template_has_no_place_for_is_refused():
    with pytest.raises(SqlTemplateError, match="decision"):
        sql_compose("SELECT id FROM {sends}", decision="SELECT 1")


def test_tables_come_from_the_models_and_parts_are_filled_in_one_step():
    sql = sql_compose("SELECT id FROM {sends} WHERE id IN ({ids})", ids="SELECT '{contacts}'")
    assert sql == "SELECT id FROM messaging_send WHERE id IN (SELECT '{contacts}')"



def _statements() -> dict[str, str]:
    import datetime

    from messaging.delivery.handover import PREPARE_STEP_SQL
    from messaging.engine.decision.rules import MessagePlan, PlannedChannel
    from messaging.engine.decision.sql import decision_sql

    channels = (PlannedChannel(1, "email", "email", 2, "week"), PlannedChannel(2, "sms", "phone", None, ""))
    plan = MessagePlan(message_id=1, channels=channels, deliver_until=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
                       category_id=1)
    return {"decision": decision_sql(plan, "SELECT 1 AS contact_id", contact_range=True), "hand-over": PREPARE_STEP_SQL}


@pytest.mark.parametrize("name", ["decision", "hand-over"])
def test_outcomes_and_reasons_reach_the_sql_as_parameters_from_their_enums_never_as_text(name):
    from messaging.models import Send

    sql = _statements()[name]
    for value in [*Send.Outcome.values, *Send.Reason.values]:
        assert f"'{value}'" not in sql, f"{name}: {value!r} is written into the SQL text"
    assert "%(outcome_sending)s" in sql and "%(reason_" in sql

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

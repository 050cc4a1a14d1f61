"""The embedded default (SQLite, file-system broker) must keep working: the README's run command uses it."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]

SERVICES_ON_SQLITE = textwrap.dedent("""
    from django.db import connection
    from contacts.models import Contact, PreferenceChange
    from contacts.selectors import contact_preferences
    from contacts.services import PreferencesInvalid, contact_preferences_update

    assert connection.vendor == "sqlite"
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    contact = Contact.objects.get(email="demo-1@example.com")
    contact_preferences_update(contact=contact, source="staff:smoke", data={
        "channels": {"email": {"subscribed": True, "frequency": {"number": 3, "unit": "week"}}},
        "categories": {"offers": False},
    })
    shape = contact_preferences(contact)
    assert shape["channels"]["email"]["frequency"] == {"number": 3, "unit": "week"}, shape
    assert shape["categories"]["offers"] is False
    try:
        contact_preferences_update(contact=contact, source="staff:smoke",
                                   data={"channels": {"email": {"pause": {"from": "2026-02-02", "to": "2026-02-01"}}}})
    except PreferencesInvalid as error:
        assert "channels.email.pause.to" in error.errors
    else:
        raise AssertionError("an inverted pause was accepted")
    try:
        contact_preferences_update(contact=contact, source="staff:smoke",
                                   data={"channels": {"email": {"pause": {"from": "2026-02-02", "to": "9999-12-31"}}}})
    except PreferencesInvalid as error:
        assert "channels.email.pause.to" in error.errors
    else:
        raise AssertionError("a pause to the end of the calendar was accepted")
    from contacts.models import ContactField
    from contacts.services import contact_fields_update
    ContactField.objects.create(key="company", label="Company")
    contact_fields_update(contact=contact, values={"company": "Acme"}, source="staff:fields")
    assert Contact.objects.filter(fields__company="Acme").count() == 1
    print("history rows:", PreferenceChange.objects.filter(source="staff:smoke").count())
""")

MESSAGE_ID = "from messaging.models import Message; print(Message.objects.get(name='Spring offers').pk)"
RECIPIENTS = (
    "from contacts.models import SegmentMembership; from messaging.models import Message;"
    "m = Message.objects.get(pk={message_id});"
    "print(SegmentMembership.objects.filter(segment__in=m.segments.all(), removed=False)"
    ".values('contact').distinct().count())"
)
PING = "from preference_center.celery import ping; print(ping.delay('over-files').get(timeout=60))"


def embedded_env(tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND",
                          "CELERY_TASK_DEFAULT_QUEUE", "TEST_DATABASE_NAME"}}
    return {**env, "VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "preference_center.settings"}


def manage(env, *args, timeout=300) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_migrate_seed_and_services_run_on_sqlite(tmp_path):
    env = embedded_env(tmp_path)
    manage(env, "migrate", "--noinput")
    assert "staff login: admin" in manage(env, "seed_demo", "--contacts", "30", "--no-progress")
    assert "history rows: 2" in manage(env, "shell", "-v", "0", "-c", SERVICES_ON_SQLITE)
    assert (tmp_path / "preference_center.sqlite3").exists()


@pytest.mark.worker
def test_a_worker_consumes_the_file_system_broker_and_dispatches_on_sqlite(tmp_path):
    env = embedded_env(tmp_path)
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo", "--contacts", "60", "--no-progress")
    manage(env, "seed_demo_messages")
    message_id = manage(env, "shell", "-v", "0", "-c", MESSAGE_ID).strip()
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "preference_center", "worker", "-c", "1", "-l", "WARNING",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=BASE_DIR, env=env, start_new_session=True,
    )
    try:
        assert "over-files" in manage(env, "shell", "-v", "0", "-c", PING, timeout=120)
        report = manage(env, "dispatch", message_id, "--wait", timeout=240)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    counts = {line.split(":")[0].strip(): int(line.split(":")[1]) for line in report.splitlines() if ":" in line
              and line.split(":")[1].strip().isdigit()}
    assert counts["sent"] > 0
    assert sum(counts.values()) == int(manage(env, "shell", "-v", "0", "-c", RECIPIENTS.format(message_id=message_id)))

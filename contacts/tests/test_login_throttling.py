"""Staff log-in is throttled per account and per client address (django-axes, README "Unlocking ...")."""

import datetime

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from .factories import UserFactory

pytestmark = pytest.mark.django_db
LOGIN = reverse("contacts:login")
LIMIT = 5


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)


def log_in(client, username, password, ip="198.51.100.20", **headers):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip, **headers)


def logged_in(response) -> bool:
    return response.status_code == 302 and response.url == "/"


def fail(client, username, times=LIMIT, **kwargs):
    """Wrong passwords; the one that reaches the limit already gets the lockout page."""
    for n in range(times):
        assert log_in(client, username, "wrong", **kwargs).status_code == (429 if n + 1 == LIMIT else 200)


def test_after_too_many_failures_the_right_password_is_refused_with_a_clear_page(client):
    UserFactory(username="ana")
    fail(client, "ana")
    response = log_in(client, "ana", "password")
    assert response.status_code == 429
    page = response.content.decode()
    assert "Log-in locked" in page and "15 minutes" in page and "ask an administrator" in page
    assert "_auth_user_id" not in client.session


def test_each_failed_attempt_is_kept_for_the_admin_with_its_address(client):
    UserFactory(username="ana")
    fail(client, "ana", times=2, ip="198.51.100.21")
    assert list(AccessFailureLog.objects.values_list("username", "ip_address")) == [("ana", "198.51.100.21")] * 2


def test_an_account_is_locked_from_every_address(client):
    UserFactory(username="ana")
    for n in range(LIMIT):
        log_in(client, "ana", "wrong", ip=f"198.51.100.{n + 1}")
    assert log_in(client, "ana", "password", ip="203.0.113.99").status_code == 429


def test_an_address_is_locked_for_every_account(client):
    UserFactory(username="ben")
    for n in range(LIMIT):
        log_in(client, f"guess{n}", "wrong", ip="198.51.100.30")
    assert log_in(client, "ben", "password", ip="198.51.100.30").status_code == 429
    assert logged_in(log_in(client, "ben", "password", ip="198.51.100.31"))


def test_fewer_failures_than_the_limit_leave_the_login_working(client):
    UserFactory(username="ana")
    fail(client, "ana", times=LIMIT - 1)
    assert logged_in(log_in(client, "ana", "password"))


def test_a_successful_log_in_forgets_the_earlier_failures_of_the_account(client):
    UserFactory(username="ana")
    fail(client, "ana", times=LIMIT - 1)
    assert logged_in(log_in(client, "ana", "password"))
    client.logout()
    fail(client, "ana", times=LIMIT - 1)
    assert logged_in(log_in(client, "ana", "password"))


def test_the_lock_ends_when_the_cool_off_has_passed(client):
    UserFactory(username="ana")
    fail(client, "ana")
    assert log_in(client, "ana", "password").status_code == 429
    # Sixteen minutes later, as the clock would have it.
    AccessAttempt.objects.update(attempt_time=datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=16))
    assert logged_in(log_in(client, "ana", "password"))


def test_the_reset_command_unlocks_an_account(client):
    UserFactory(username="ana")
    fail(client, "ana", ip="198.51.100.40")
    call_command("axes_reset_username", "ana")
    call_command("axes_reset_ip", "198.51.100.40")
    assert logged_in(log_in(client, "ana", "password", ip="198.51.100.40"))


def test_an_admin_unlocks_an_account_by_deleting_its_attempts_in_the_admin(client):
    UserFactory(username="ana")
    fail(client, "ana")
    admin = client_class_login(get_user_model().objects.create_superuser("root", password="x"))
    attempts = list(AccessAttempt.objects.values_list("pk", flat=True))
    response = admin.post(reverse("admin:axes_accessattempt_changelist"),
                          {"action": "delete_selected", "_selected_action": attempts, "post": "yes"})
    assert response.status_code == 302
    assert logged_in(log_in(client, "ana", "password"))


def test_a_forged_forwarded_for_does_not_move_a_client_out_of_its_address_lock(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    UserFactory(username="ben")
    for n in range(LIMIT):
        log_in(client, f"guess{n}", "wrong", ip="10.0.0.2", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 198.51.100.50")
    response = log_in(client, "ben", "password", ip="10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.200, 198.51.100.50")
    assert response.status_code == 429
    assert AccessAttempt.objects.filter(ip_address="198.51.100.50").exists()


def client_class_login(user):
    from django.test import Client

    other = Client()
    other.force_login(user)
    return other


@pytest.mark.parametrize("login", [LOGIN, "/admin/login/"])
def test_a_user_name_too_long_for_any_account_is_a_failed_log_in_not_an_error(client, login):
    UserFactory(username="ana")
    response = client.post(login, {"username": "x" * 300, "password": "wrong"}, REMOTE_ADDR="198.51.100.20")
    assert response.status_code == 200 and "username" in response.text.lower()
    assert AccessFailureLog.objects.get().username == "x" * 255

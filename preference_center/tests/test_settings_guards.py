"""Settings that must stop the process when they would make production unsafe (run in fresh interpreters)."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
STRONG_KEY = secrets.token_urlsafe(50)
# The README's production variables ("Running on PostgreSQL and Redis").
PRODUCTION = {
    "DATABASE_URL": "postgres://prefs@db.internal:5432/prefs",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "ALLOWED_HOSTS": "prefs.example.com",
    "SITE_URL": "https://prefs.example.com",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "EMAIL_HOST": "smtp.internal",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
}


def run(tmp_path, *args, **variables) -> subprocess.CompletedProcess:
    # Only what the test names: no SECRET_KEY, DEBUG or proxy setting inherited from this run.
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "VAR_DIR": str(tmp_path),
           "DJANGO_SETTINGS_MODULE": "preference_center.settings", **variables}
    return subprocess.run([sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120)


def import_settings(tmp_path, **variables) -> subprocess.CompletedProcess:
    return run(tmp_path, "-c", "import preference_center.settings", **variables)


def test_production_refuses_to_start_with_the_built_in_secret_key(tmp_path):
    result = import_settings(tmp_path, DEBUG="false")
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is the built-in demo key or too weak" in result.stderr


@pytest.mark.parametrize("key", [
    "insecure-demo-key-set-SECRET_KEY-in-production",
    "short-key",
    "a" * 80,
    "django-insecure-" + secrets.token_urlsafe(50),
])
def test_production_refuses_to_start_with_a_weak_secret_key(tmp_path, key):
    result = import_settings(tmp_path, DEBUG="false", SECRET_KEY=key)
    assert result.returncode != 0 and "SECRET_KEY is the built-in demo key or too weak" in result.stderr


def test_a_weak_previous_key_still_accepted_for_links_is_refused_too(tmp_path):
    result = import_settings(tmp_path, DEBUG="false", SECRET_KEY=STRONG_KEY, SECRET_KEY_FALLBACKS="old-demo")
    assert result.returncode != 0 and "SECRET_KEY_FALLBACKS is the built-in demo key or too weak" in result.stderr


def test_the_gunicorn_and_celery_entry_points_refuse_too(tmp_path):
    for module in ("preference_center.wsgi", "preference_center.celery"):
        code = f"import {module}; from django.conf import settings; settings.SECRET_KEY"
        result = run(tmp_path, "-c", code, DEBUG="false")
        assert result.returncode != 0 and "SECRET_KEY is the built-in demo key" in result.stderr, module


def test_debug_mode_starts_with_the_demo_key(tmp_path):
    assert import_settings(tmp_path, DEBUG="true").returncode == 0


def test_production_starts_with_a_strong_key(tmp_path):
    result = import_settings(tmp_path, DEBUG="false", SECRET_KEY=STRONG_KEY)
    assert result.returncode == 0, result.stderr


def test_the_deploy_check_is_clean_with_the_readme_production_variables(tmp_path):
    result = run(tmp_path, "manage.py", "check", "--deploy", "--fail-level", "WARNING", SECRET_KEY=STRONG_KEY, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_retired_client_ip_variable_stops_the_process_with_its_replacement_named(tmp_path):
    result = import_settings(tmp_path, DEBUG="true", RATELIMIT_IP_META_KEY="HTTP_X_FORWARDED_FOR")
    assert result.returncode != 0 and "set TRUSTED_PROXY_COUNT" in result.stderr


def test_a_negative_proxy_count_stops_the_process(tmp_path):
    result = import_settings(tmp_path, DEBUG="true", TRUSTED_PROXY_COUNT="-1")
    assert result.returncode != 0 and "TRUSTED_PROXY_COUNT is the number of reverse proxies" in result.stderr


def test_a_proxy_network_that_does_not_parse_stops_the_process(tmp_path):
    result = import_settings(tmp_path, DEBUG="true", TRUSTED_PROXY_NETWORKS="10.0.0.0/8,nginx")
    assert result.returncode != 0 and "TRUSTED_PROXY_NETWORKS: 'nginx' is not an address or network" in result.stderr


def test_var_dir_written_in_the_env_file_is_where_the_demo_keeps_its_files(tmp_path):
    # The settings module as shipped, next to a .env of its own (the repository's .env is left alone).
    project = tmp_path / "project"
    (project / "preference_center").mkdir(parents=True)
    (project / "preference_center" / "__init__.py").write_text("")
    (project / "preference_center" / "settings.py").write_text((BASE_DIR / "preference_center" / "settings.py").read_text())
    (project / ".env").write_text(f"VAR_DIR={tmp_path / 'from-env-file'}\n")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DEBUG": "true", "PYTHONPATH": str(project)}
    result = subprocess.run(
        [sys.executable, "-c", "from preference_center import settings; print(settings.DATABASES['default']['NAME'])"],
        cwd=project, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "from-env-file" / "preference_center.sqlite3")
    assert (tmp_path / "from-env-file" / "celery-broker").is_dir()

"""Settings that must stop the process when they would make production unsafe (run in fresh interpreters)."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
STRONG_KEY = secrets.token_urlsafe(50)
README = (BASE_DIR / "README.md").read_text()


def readme_exports(section: str) -> dict[str, str]:
    """The variables a README section's shell block exports (the SECRET_KEY placeholder left out)."""
    text = README.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    pairs = [word.split("=", 1) for line in block.splitlines() if line.startswith("export ")
             for word in line.split("#", 1)[0].split()[1:]]
    return {name: value for name, value in pairs if value != "..."}


# The README's production variables, read from the README itself so the two cannot drift apart.
PRODUCTION = readme_exports("Running on PostgreSQL and Redis")
BEHIND_A_PROXY = readme_exports("Running behind a proxy")


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


def test_the_deploy_check_is_clean_behind_the_readme_proxy_too(tmp_path):
    assert {"DATABASE_URL", "SECURE_SSL_REDIRECT", "SITE_URL"} <= PRODUCTION.keys()
    assert {"TRUSTED_PROXY_COUNT", "BEHIND_TLS_PROXY"} <= BEHIND_A_PROXY.keys()
    result = run(tmp_path, "manage.py", "check", "--deploy", "--fail-level", "WARNING", SECRET_KEY=STRONG_KEY,
                 **PRODUCTION, **BEHIND_A_PROXY)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_readme_configuration_table_names_every_variable_the_settings_read():
    settings_source = (BASE_DIR / "preference_center" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', settings_source))
    table = README.split("## Configuration\n", 1)[1].split("\n## ", 1)[0]
    assert len(read) > 40
    assert {name for name in read if f"`{name}`" not in table} == set()


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

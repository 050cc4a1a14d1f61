"""LOG_LEVEL is obeyed by Django's own loggers: at ERROR, no line per failed (404, 400) request."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
SCRIPT = """
import logging, django
django.setup()
from django.test import Client
client = Client(SERVER_NAME="localhost")
client.get("/no-such-page/")
logging.getLogger("django.server").info('"GET / HTTP/1.1" 200 marker-server')
logging.getLogger("django.request").error("marker-error")
# A library that sets its own logger's level still goes through the handler, which follows LOG_LEVEL.
library = logging.getLogger("some.library")
library.setLevel(logging.DEBUG)
library.warning("marker-library")
"""


def run(tmp_path, level: str) -> str:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "VAR_DIR": str(tmp_path), "DEBUG": "true",
           "DJANGO_SETTINGS_MODULE": "preference_center.settings", "LOG_LEVEL": level,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=BASE_DIR, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_at_error_level_requests_that_fail_log_nothing(tmp_path):
    output = run(tmp_path, "ERROR")
    assert "Not Found" not in output
    assert "marker-server" not in output
    assert "marker-library" not in output
    assert "marker-error" in output


@pytest.mark.parametrize("level", ["WARNING", "INFO"])
def test_at_lower_levels_404s_are_logged(tmp_path, level):
    output = run(tmp_path, level)
    assert "Not Found: /no-such-page/" in output
    assert ("marker-server" in output) == (level == "INFO")

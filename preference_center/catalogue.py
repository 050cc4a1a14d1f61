"""The translation catalogue of what contacts read: which sources it covers, and how to refresh it.

Contacts read the public pages, the messages the services return, and the email and SMS footers;
staff pages stay in English. ``python -m preference_center.catalogue`` merges new strings of those
sources into every ``locale/<lang>/LC_MESSAGES/django.po`` (then translate them and run
``manage.py compilemessages``); the tests use the same list to prove nothing is left out.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
LOCALE = BASE / "locale"
KEYWORDS = ["gettext", "gettext_lazy", "gettext_noop", "_", "pgettext:1c,2", "ngettext:1,2", "ngettext_lazy:1,2"]


def public_templates() -> list[Path]:
    return sorted((BASE / "messaging" / "templates" / "public").glob("*.html"))


def public_python() -> list[Path]:
    return [
        BASE / "messaging" / "public" / "views.py",
        BASE / "messaging" / "public" / "render.py",
        BASE / "messaging" / "public" / "page.py",
        BASE / "messaging" / "delivery" / "rendering.py",
        BASE / "contacts" / "models.py",
        *sorted((BASE / "contacts" / "services").glob("*.py")),
    ]


def public_pot() -> str:
    """The template (.pot) of every string a contact can read, extracted as makemessages does."""
    from django.utils.translation.template import templatize

    sources = [path.read_text() for path in public_python()]
    sources += [templatize(path.read_text(), origin=str(path)) for path in public_templates()]
    command = ["xgettext", "--language=Python", "--from-code=UTF-8", "--output=-", "--no-location"]
    command += [f"--keyword={keyword}" for keyword in KEYWORDS]
    return subprocess.run([*command, "-"], input="\n".join(sources), capture_output=True, text=True, check=True).stdout


def catalogues_update() -> list[Path]:
    """Merge new strings into each language's catalogue and drop the ones no source uses any more."""
    with tempfile.NamedTemporaryFile("w", suffix=".pot", encoding="utf-8") as pot:
        pot.write(public_pot().replace("charset=CHARSET", "charset=UTF-8"))
        pot.flush()
        updated = sorted(LOCALE.glob("*/LC_MESSAGES/django.po"))
        for po in updated:
            subprocess.run(["msgmerge", "--quiet", "--update", "--backup=none", "--no-location", str(po), pot.name],
                           check=True)
            subprocess.run(["msgattrib", "--no-obsolete", "--output-file", str(po), str(po)], check=True)
    return updated


if __name__ == "__main__":
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "preference_center.settings")
    django.setup()
    for path in catalogues_update():
        print(f"updated {path.relative_to(BASE)}: translate entries with an empty msgstr or marked fuzzy, "
              "then run `manage.py compilemessages --ignore .venv`", file=sys.stderr)

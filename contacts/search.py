"""The one rule of the staff search: case and accents never matter ("ines" finds "Inès").

Both sides of a match go through the SQL function ``pc_search_fold``: on PostgreSQL it is
``upper(unaccent(text))`` (migration 0010, immutable so the trigram index can cover it); on SQLite
it is ``search_fold`` below, registered on every connection.
"""

from __future__ import annotations

import unicodedata

from django.db.backends.signals import connection_created

SEARCH_FOLD_SQL = "pc_search_fold"


def search_fold(text: str | None) -> str | None:
    """Upper case without accents: letters are decomposed (NFKD) and their combining marks dropped."""
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).upper()


def _sqlite_register(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(SEARCH_FOLD_SQL, 1, search_fold, deterministic=True)


def search_fold_install() -> None:
    connection_created.connect(_sqlite_register, dispatch_uid="contacts.search_fold")

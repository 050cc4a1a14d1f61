"""What the benchmark scripts share: a database of their own, created when missing."""

from __future__ import annotations


def ensure_database(url: str) -> None:
    """Create the database named at the end of ``url`` on its server if it does not exist yet."""
    import psycopg2
    from psycopg2 import sql

    server_url, name = url.rsplit("/", 1)
    server = psycopg2.connect(server_url + "/postgres")
    server.autocommit = True
    with server.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cursor.fetchone():
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    server.close()


def django_ready(url: str) -> None:
    """The benchmark's database exists, Django is set up on it (the script has put ``url`` in
    ``DATABASE_URL``) and its schema is migrated."""
    ensure_database(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

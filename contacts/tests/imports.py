"""Helpers of the import tests: upload bytes, map, dry-run and import in this process."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from contacts.imports.mapping import IGNORE
from contacts.imports.runner import import_create, import_mapping_set, import_run, import_start
from contacts.models import ContactImport


def csv_bytes(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def uploaded(data: bytes, name: str = "contacts.csv") -> ContactImport:
    return import_create(upload=SimpleUploadedFile(name, data), acting_user_name="alice")


def checked(contact_import: ContactImport, targets: dict[str, str], *, match_on="email", policy="empty_only"):
    """Map columns by name (others ignored) and run the dry run."""
    mapping = [targets.get(name, IGNORE) for name in contact_import.header]
    import_mapping_set(contact_import=contact_import, mapping=mapping, match_on=match_on, policy=policy, enqueue=False)
    import_run(import_id=contact_import.pk)
    contact_import.refresh_from_db()
    return contact_import


def imported(contact_import: ContactImport) -> ContactImport:
    import_start(contact_import=contact_import, enqueue=False)
    import_run(import_id=contact_import.pk)
    contact_import.refresh_from_db()
    return contact_import


def import_file(data: bytes, targets: dict[str, str], **options) -> ContactImport:
    return imported(checked(uploaded(data), targets, **options))

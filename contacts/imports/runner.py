"""The import's life: upload, mapping, dry run, import, cancel; each step a service on ``ContactImport``.

The dry run and the import are the same loop (``import_run``) over chunks of the file. A chunk's
writes, its report lines and the checkpoint (``rows_done``) commit together, so a worker killed
mid-import resumes after the last committed chunk: nothing is written twice, nobody is duplicated.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.models import ContactImport, ImportProblem
from contacts.services.dynamic_segments import segments_rebuild_all_request
from webhooks.outbox import import_finished_publish

from . import csvfile
from .engine import CopyText, chunk_copy_text, chunk_run
from .mapping import mapping_errors, mapping_remember
from .rows import CleanRow, Problem, RowCleaner

IMPORT_RUN = "contacts.import_run"
Status = ContactImport.Status


class ImportRefused(ValueError):
    """The request cannot be done; the message says why. Nothing was changed."""


def _enqueue(contact_import: ContactImport) -> None:
    pk = contact_import.pk
    transaction.on_commit(lambda: current_app.send_task(IMPORT_RUN, args=[pk]))


def _already_running_message(other: ContactImport) -> str:
    return _("This file is already being imported (import %(id)s, started %(when)s). Finish or cancel it first.") % {
        "id": other.pk, "when": timezone.localtime(other.created_at).strftime("%Y-%m-%d %H:%M")}


def import_create(*, upload, acting_user_name: str) -> ContactImport:
    """Store an uploaded file and check that it is a CSV file we can read (``CsvRefused`` says why not).

    One import at a time per file (by content hash): the ``contactimport_one_active_per_file``
    constraint refuses a second one while the first is not finished or cancelled.
    """
    if connection.vendor != "postgresql":  # COPY, temporary tables and jsonb: the set-based path is PostgreSQL's
        raise ImportRefused(_("Importing needs the PostgreSQL database (DATABASE_URL); the embedded demo database cannot import."))
    path, sha, size = csvfile.file_store(upload, Path(settings.IMPORT_DIR))
    layout = csvfile.csv_layout(path)
    total = csvfile.row_count(path, layout)
    other = ContactImport.objects.filter(sha256=sha, status__in=ContactImport.ACTIVE).first()
    if other:
        raise ImportRefused(_already_running_message(other))
    try:
        with transaction.atomic():
            return ContactImport.objects.create(
                file_name=(getattr(upload, "name", "") or "upload.csv")[:255], stored_path=str(path), size=size,
                sha256=sha, encoding=layout.encoding, delimiter=layout.delimiter, header=layout.header,
                rows_total=total, created_by=acting_user_name,
            )
    except IntegrityError:
        other = ContactImport.objects.filter(sha256=sha, status__in=ContactImport.ACTIVE).first()
        raise ImportRefused(_already_running_message(other) if other else _("This file is already being imported."))


@transaction.atomic
def import_mapping_set(
    *, contact_import: ContactImport, mapping: list[str], match_on: str, policy: str, enqueue: bool = True
) -> ContactImport:
    """Keep the mapping (and remember it for this header), then start the dry run (on a worker unless
    ``enqueue`` is false: the command line runs it in its own process)."""
    locked = ContactImport.objects.select_for_update().get(pk=contact_import.pk)
    if locked.status not in (Status.MAPPING, Status.CHECKED):
        raise ImportRefused(_("This import can no longer be mapped: it is %(status)s.") % {"status": locked.get_status_display()})
    if match_on not in ContactImport.Match.values or policy not in ContactImport.Policy.values:
        raise ImportRefused(_("Choose how contacts are matched and what happens to existing ones."))
    if errors := mapping_errors(header=locked.header, mapping=mapping, match_on=match_on):
        raise ImportRefused(" ".join(errors))
    mapping_remember(header=locked.header, mapping=mapping, match_on=match_on, policy=policy)
    locked.mapping, locked.match_on, locked.policy = mapping, match_on, policy
    locked.status, locked.rows_done, locked.check_counts = Status.CHECKING, 0, {}
    locked.save(update_fields=["mapping", "match_on", "policy", "status", "rows_done", "check_counts"])
    locked.problems.filter(phase=ImportProblem.Phase.CHECK).delete()
    if enqueue:
        _enqueue(locked)
    return locked


@transaction.atomic
def import_start(*, contact_import: ContactImport, enqueue: bool = True) -> ContactImport:
    """After the dry run: write the contacts (on a worker unless ``enqueue`` is false)."""
    locked = ContactImport.objects.select_for_update().get(pk=contact_import.pk)
    if locked.status != Status.CHECKED:
        raise ImportRefused(_("Run the dry run first."))
    locked.status, locked.rows_done, locked.import_counts = Status.IMPORTING, 0, {}
    locked.save(update_fields=["status", "rows_done", "import_counts"])
    if enqueue:
        _enqueue(locked)
    return locked


@transaction.atomic
def import_cancel(*, contact_import: ContactImport) -> ContactImport:
    """Stop the import: at once before it runs, else after the chunk being written (those rows stay, audited)."""
    locked = ContactImport.objects.select_for_update().get(pk=contact_import.pk)
    if locked.status in (Status.MAPPING, Status.CHECKED):
        locked.status, locked.finished_at = Status.CANCELLED, timezone.now()
        locked.save(update_fields=["status", "finished_at"])
    elif locked.running:
        locked.cancel_requested = True
        locked.save(update_fields=["cancel_requested"])
    else:
        raise ImportRefused(_("This import is %(status)s: there is nothing to cancel.") % {"status": locked.get_status_display()})
    return locked


def import_run(*, import_id: int, progress: Callable[[int], None] | None = None) -> str:
    """Run the dry run or the import from its checkpoint; safe to run again (a redelivered task).

    Returns the status it ended in. ``progress`` is called with the rows done after each chunk.
    """
    contact_import = ContactImport.objects.filter(pk=import_id).first()
    if contact_import is None or not contact_import.running:
        return contact_import.status if contact_import else "missing"
    apply = contact_import.status == Status.IMPORTING
    phase = ImportProblem.Phase.IMPORT if apply else ImportProblem.Phase.CHECK
    cleaner = RowCleaner(header=contact_import.header, mapping=contact_import.mapping, match_on=contact_import.match_on)
    columns = {}
    for index, kind, name, target_id in cleaner.columns:
        columns[(kind, target_id if target_id is not None else name)] = contact_import.header[index]
    chunks = _read_ahead(_chunks_checked(contact_import, cleaner, columns))
    try:
        for chunk in chunks:
            status = _chunk_commit(contact_import, chunk, columns, apply, phase, analyse=chunk.first)
            if status and not chunk.last:
                return status
            if progress:
                progress(chunk.start + chunk.size)
            if status:
                return status
        return contact_import.status  # not reached: the last chunk returns its status
    except (csvfile.CsvRefused, OSError) as error:  # the stored file changed or went away since it was checked
        message = str(error) if isinstance(error, csvfile.CsvRefused) else _(
            "The uploaded file can no longer be read; upload it again.")
        ContactImport.objects.filter(pk=import_id).update(status=Status.FAILED, error=message, finished_at=timezone.now())
        return Status.FAILED
    finally:
        chunks.close()


@dataclass
class CheckedChunk:
    """Rows of the file checked in Python, ready to be written: the rows that pass and the report lines of the rest."""

    start: int  # rows of the file before this chunk (the checkpoint it commits from)
    size: int
    clean: list[CleanRow]
    problems: list[tuple[str, Problem]]
    copy_text: CopyText
    first: bool = False  # the first chunk of this run
    last: bool = False


def _chunks_checked(contact_import, cleaner, columns) -> Iterator[CheckedChunk]:
    """The file from the checkpoint on, chunk by chunk, each row checked; the last chunk (maybe empty) says so.

    Rows before ``rows_done`` were committed before a crash: only their keys are read again, to know which
    emails (or phones) the file has given already.
    """
    layout = csvfile.CsvLayout(contact_import.encoding, contact_import.delimiter, contact_import.header)
    seen: dict[str, int] = {}
    start, done, lines = contact_import.rows_done, 0, []
    chunk_rows, first = settings.IMPORT_CHUNK_ROWS, True
    for line, cells in csvfile.text_rows(Path(contact_import.stored_path), layout):
        if done < start:
            result = cleaner.clean(line, cells)
            if not isinstance(result, list):
                seen.setdefault(result.key, line)
            done += 1
            continue
        lines.append((line, cells))
        done += 1
        if len(lines) == chunk_rows:
            yield _chunk_check(contact_import, cleaner, lines, seen, columns, start=done - len(lines), first=first)
            lines, first = [], False
    yield _chunk_check(contact_import, cleaner, lines, seen, columns, start=done - len(lines), first=first, last=True)


def _chunk_check(contact_import, cleaner, lines, seen, columns, *, start, first=False, last=False) -> CheckedChunk:
    clean, problems = [], []
    for line, cells in lines:
        result = cleaner.clean(line, cells)
        if isinstance(result, list):
            problems.extend(("rejected", problem) for problem in result)
        elif result.key in seen:
            column = columns.get(("contact", contact_import.match_on), "")
            problems.append(("rejected", Problem(line, column, result.key, _(
                "The same %(key)s as line %(line)s; only the first is imported.") % {
                "key": _("email address") if contact_import.match_on == "email" else _("phone number"),
                "line": seen[result.key]})))
        else:
            seen[result.key] = line
            clean.append(result)
    return CheckedChunk(start=start, size=len(lines), clean=clean, problems=problems, copy_text=chunk_copy_text(clean),
                        first=first, last=last)


_END = object()


def _read_ahead(chunks: Iterator[CheckedChunk]) -> Generator[CheckedChunk, None, None]:
    """The chunks of ``chunks``, the next one read and checked in a thread while the caller writes this one.

    The row checks (and the ``COPY`` text) are Python's work and the writes PostgreSQL's (the driver lets other threads run while it
    waits): overlapped, an import takes about the longer of the two instead of their sum. At most one chunk
    waits ready; an error of the reading thread (a file changed since its upload) is raised here.
    """
    ready: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:  # report lines in the default language, as the worker writes them
                if not put((chunk, None)):
                    return
            put((_END, None))
        except BaseException as error:  # handed to the caller
            put((None, error))
        finally:
            chunks.close()

    reader = threading.Thread(target=produce, name="import-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            chunk, error = ready.get()
            if error is not None:
                raise error
            if chunk is _END:
                return
            yield chunk
    finally:
        stop.set()
        reader.join()


def _chunk_commit(contact_import, chunk: CheckedChunk, columns, apply, phase, *, analyse: bool) -> str | None:
    """Write one checked chunk with its checkpoint; a status when the run must stop here."""
    problems, start, last = chunk.problems, chunk.start, chunk.last
    with transaction.atomic():
        locked = ContactImport.objects.select_for_update().get(pk=contact_import.pk)
        # The checkpoint is the guard against a second runner (a task delivered twice): it must be ours.
        if not locked.running or locked.rows_done != start:
            return locked.status
        if locked.cancel_requested:
            locked.status, locked.finished_at = Status.CANCELLED, timezone.now()
            locked.save(update_fields=["status", "finished_at"])
            return locked.status
        result = chunk_run(rows=chunk.clean, contact_import=locked, apply=apply, columns=columns,
                           analyse=analyse, copy_text=chunk.copy_text) if chunk.clean else None
        counts = Counter(locked.import_counts if apply else locked.check_counts)
        rejected_lines = {problem.line for _kind, problem in problems}
        counts["rejected"] += len(rejected_lines)
        reported = problems + (result.problems if result else [])
        if result:
            counts.update(result.counts)
        ImportProblem.objects.bulk_create(
            [ImportProblem(contact_import=locked, phase=phase, kind=kind, line=p.line, column=p.column[:200],
                           value=p.value[:200], reason=p.reason[:300]) for kind, p in reported],
            batch_size=5000,
        )
        locked.rows_done = start + chunk.size
        if apply:
            locked.import_counts = dict(counts)
        else:
            locked.check_counts = dict(counts)
        fields = ["rows_done", "import_counts" if apply else "check_counts"]
        if last:
            locked.status = Status.DONE if apply else Status.CHECKED
            fields.append("status")
            if apply:
                locked.finished_at = timezone.now()
                fields.append("finished_at")
                # The rows were written set-based, not through the per-contact services: dynamic segments
                # catch up in one rebuild, and integrators hear of the import once, with its counts.
                segments_rebuild_all_request()
                import_finished_publish(import_id=locked.pk, counts=locked.import_counts)
        locked.save(update_fields=fields)
        return locked.status if last else None

"""Import contacts from a CSV file: the same dry run and import as the staff page, with a progress bar."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from contacts.imports import csvfile
from contacts.imports.mapping import IGNORE, mapping_suggest
from contacts.imports.runner import ImportRefused, import_create, import_mapping_set, import_run, import_start
from contacts.models import ContactImport


class FileUpload:
    """A file on disk, read in blocks like an upload."""

    def __init__(self, path: Path):
        self.path, self.name = path, path.name

    def chunks(self, size: int = 1 << 20):
        with self.path.open("rb") as handle:
            while block := handle.read(size):
                yield block


class Command(BaseCommand):
    help = (
        "Import contacts from a CSV file. Map columns with --mapping 'Column=target' (repeatable; targets: "
        "contact:email, contact:first_name, …, field:<key>, channel:<slug>, category:<slug>, segment:<slug>); "
        "unmapped columns use the mapping remembered for this header, else are ignored."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--mapping", action="append", default=[], metavar="COLUMN=TARGET")
        parser.add_argument("--match", choices=ContactImport.Match.values, default=None)
        parser.add_argument("--policy", choices=ContactImport.Policy.values, default=None)
        parser.add_argument("--dry-run", action="store_true", help="Check and report; write nothing.")
        parser.add_argument("--worker", action="store_true", help="Run on a Celery worker and follow its progress.")
        parser.add_argument("--resume", type=int, metavar="IMPORT_ID", help="Resume an interrupted import.")

    def handle(self, *args, **options):
        if options["resume"]:
            contact_import = ContactImport.objects.filter(pk=options["resume"]).first()
            if contact_import is None or not contact_import.running:
                raise CommandError("No interrupted import with this id.")
            self._run(contact_import, options)
            return self._report(contact_import)
        if not options["file"].is_file():
            raise CommandError(f"No file at {options['file']}.")
        try:
            contact_import = import_create(upload=FileUpload(options["file"]), acting_user_name="command line")
        except (csvfile.CsvRefused, ImportRefused) as error:
            raise CommandError(str(error)) from None
        suggested = mapping_suggest(contact_import.header)
        mapping = list(suggested["mapping"])
        for item in options["mapping"]:
            column, equals, target = item.partition("=")
            if not equals or column.strip() not in contact_import.header:
                raise CommandError(f"--mapping {item!r}: no column named {column.strip()!r} in {contact_import.header}.")
            mapping[contact_import.header.index(column.strip())] = target.strip() or IGNORE
        try:
            import_mapping_set(
                contact_import=contact_import, mapping=mapping, match_on=options["match"] or suggested["match_on"],
                policy=options["policy"] or suggested["policy"], enqueue=options["worker"],
            )
        except ImportRefused as error:
            contact_import.delete()
            raise CommandError(str(error)) from None
        self.stdout.write("Mapping: " + ", ".join(f"{c} → {t}" for c, t in zip(contact_import.header, mapping)))
        self._run(contact_import, options, label="dry run")
        self._report(contact_import, phase="check")
        if options["dry_run"]:
            from contacts.imports.runner import import_cancel

            import_cancel(contact_import=contact_import)  # frees the file for a real import
            return
        import_start(contact_import=contact_import, enqueue=options["worker"])
        self._run(contact_import, options, label="import")
        self._report(contact_import, phase="import")

    def _run(self, contact_import: ContactImport, options, label: str = "import") -> None:
        with tqdm(total=contact_import.rows_total, unit="rows", desc=label, file=self.stderr) as bar:
            if not options["worker"]:
                def progress(done: int) -> None:
                    bar.update(done - bar.n)

                import_run(import_id=contact_import.pk, progress=progress)
            else:
                while True:
                    contact_import.refresh_from_db()
                    bar.update(contact_import.rows_done - bar.n)
                    if not contact_import.running:
                        break
                    time.sleep(0.5)
        contact_import.refresh_from_db()

    def _report(self, contact_import: ContactImport, phase: str = "import") -> None:
        counts = contact_import.import_counts if phase == "import" else contact_import.check_counts
        self.stdout.write(
            f"Import {contact_import.pk} ({phase}, {contact_import.get_status_display()}): "
            + ", ".join(f"{name} {counts.get(name, 0)}" for name in ("new", "updated", "unchanged", "rejected", "kept"))
        )
        for problem in contact_import.problems.filter(phase=phase)[:20]:
            self.stdout.write(f"  line {problem.line}, {problem.column or '-'}: {problem.reason}")

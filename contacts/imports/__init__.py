"""CSV import of contacts (docs/import.md): read the file, map its columns, check, then write in chunks."""

"""The rules, in plain Python: no framework, no database, no I/O (mypy --strict; checked by the import contract)."""

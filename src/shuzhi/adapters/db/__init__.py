"""The database: SQLAlchemy tables (one module per part), the engine, sequences, bulk writes, migrations."""

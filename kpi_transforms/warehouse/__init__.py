"""The warehouse: one SQLAlchemy engine for DuckDB or PostgreSQL, versioned migrations, bulk
loads (Arrow on DuckDB, binary COPY on PostgreSQL)."""

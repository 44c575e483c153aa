"""The SQL storage adapter: SQLite through the standard library's ``sqlite3``, PostgreSQL
through asyncpg."""

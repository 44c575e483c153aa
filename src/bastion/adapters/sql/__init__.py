"""The SQL storage adapter: SQLite through aiosqlite, PostgreSQL through asyncpg."""

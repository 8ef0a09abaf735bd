"""PostgreSQL adapters: asyncpg repositories, unit of work and rate limiter, yoyo
migrations, and the embedded server used by the default ``make run``.

Nothing connects at import time; ``db.create_pool`` opens the pool when awaited.
"""

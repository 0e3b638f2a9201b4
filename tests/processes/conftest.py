import uuid

import psycopg
import pytest
import redis

from tests.conftest import require_service


@pytest.fixture
def shared_services():
    """A fresh PostgreSQL database and Redis database for two server processes to share."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("Redis", "127.0.0.1", 6379)
    name = f"scaleout_{uuid.uuid4().hex[:8]}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    redis.Redis.from_url("redis://127.0.0.1:6379/14").flushdb()
    try:
        yield f"postgres://postgres@127.0.0.1:5432/{name}", "redis://127.0.0.1:6379/14"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

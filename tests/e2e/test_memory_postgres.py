"""The memory store on a real PostgreSQL (Debian's server, started by the test; skipped, with
the reason, where it cannot be installed or started)."""

from __future__ import annotations

import pytest

from pipecat_gemini_live.protocol.history import ConversationHistory
from pipecat_gemini_live.apps.memory import CallMemory, MemoryPolicy, MemoryStore

from ..unit.test_memory import open_eight_at_once
from .pg_setup import PostgresUnavailable, postgres_server


@pytest.fixture(scope="module")
def pg_url():
    try:
        with postgres_server(log=lambda m: None) as url:
            yield url
    except PostgresUnavailable as e:
        pytest.skip(f"PostgreSQL unavailable: {e}")


class _Service:
    def __init__(self):
        self.history = ConversationHistory()


@pytest.mark.timeout(180)
async def test_the_store_works_on_postgresql(pg_url):
    store = MemoryStore(pg_url, policy=MemoryPolicy(max_turns=3, retention_s=3600))
    assert store.url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    store.append("tel:old", "CA0", "user", "stale", at=0)  # past retention
    store.append("tel:a", "CA1", "user", "Ich heiße Ada. 🙂")
    store.append("tel:a", "CA1", "model", "Hallo Ada.")
    service = _Service()
    memory = await CallMemory.open(service, store, "tel:a", "CA2")
    assert [e.text for e in service.history.entries][:2] == ["Ich heiße Ada. 🙂", "Hallo Ada."]
    service.history.add_user("Wie heiße ich?")
    service.history.add_model("Du heißt Ada.")
    await memory.close()
    assert [t.text for t in store.recent("tel:a")] == ["Hallo Ada.", "Wie heiße ich?", "Du heißt Ada."]
    assert store.purge() == 1 and store.count("tel:old") == 0
    # A second store on the same database sees the same rows (another worker, another instance).
    other = MemoryStore(pg_url)
    assert other.count("tel:a") == 4
    assert other.forget("tel:a") == 4 and store.count() == 0
    other.close()
    store.close()


@pytest.mark.timeout(180)
def test_bot_processes_starting_together_create_the_tables_once(pg_url):
    """Eight stores opening one new database at once (bots starting together): each create_all
    checks then creates, so without the schema lock the losers fail on a duplicate type."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE memory_race"))
    admin.dispose()
    open_eight_at_once(make_url(pg_url).set(database="memory_race").render_as_string(hide_password=False))

"""The memory store, caller keys and one call's wiring to the service's history (no network)."""

from __future__ import annotations

import os
import stat

import pytest

from pipecat_gemini_live.protocol.history import ConversationHistory
from pipecat_gemini_live.apps.memory import (
    NEW_CALL_NOTE,
    CallMemory,
    CookieSigner,
    MemoryPolicy,
    MemoryStore,
    caller_secret,
    default_url,
    participant_caller_key,
    phone_caller_key,
)
from pipecat_gemini_live.apps.memory.__main__ import main as memory_cli
from pipecat_gemini_live.protocol.profiles import profile_for

SECRET = b"k" * 32


def store_at(tmp_path, **policy) -> MemoryStore:
    return MemoryStore(f"sqlite:///{tmp_path / 'm.sqlite3'}", policy=MemoryPolicy(**policy))


def test_turns_come_back_newest_window_oldest_first(tmp_path):
    store = store_at(tmp_path, max_turns=3, max_age_s=100, retention_s=None)
    for i in range(5):
        store.append("tel:a", "CA1", "user" if i % 2 == 0 else "model", f"turn {i}", at=1000 + i)
    store.append("tel:b", "CA2", "user", "someone else", at=1004.5)
    assert [t.text for t in store.recent("tel:a", now=1010)] == ["turn 2", "turn 3", "turn 4"]
    # The age window: only turns newer than now - max_age_s.
    assert [t.text for t in store.recent("tel:a", now=1103.5)] == ["turn 4"]
    assert store.count("tel:a") == 5 and store.count() == 6


def test_retention_purges_old_turns_and_forget_deletes_one_caller(tmp_path):
    store = store_at(tmp_path, retention_s=60)
    store.append("tel:a", "CA1", "user", "old", at=0)
    store.append("tel:a", "CA1", "user", "new")
    store.append("tel:b", "CA2", "user", "other")
    assert store.purge() == 1
    assert store.forget("tel:a") == 1
    assert store.count("tel:a") == 0 and store.count("tel:b") == 1


def test_bad_input_is_refused_with_a_reason(tmp_path):
    store = store_at(tmp_path)
    with pytest.raises(ValueError, match="caller key"):
        store.append("", "CA1", "user", "x")
    with pytest.raises(ValueError, match="role"):
        store.append("tel:a", "CA1", "system", "x")
    with pytest.raises(ValueError, match="max_turns"):
        MemoryPolicy(max_turns=0)


def test_default_database_lives_in_the_data_directory(tmp_path):
    env = {"GEMINI_LIVE_DATA_DIR": str(tmp_path / "data")}
    assert default_url(env) == f"sqlite:///{tmp_path / 'data' / 'memory.sqlite3'}"
    assert default_url({**env, "MEMORY_DATABASE_URL": "postgresql://db/x"}) == "postgresql://db/x"


def test_phone_keys_are_keyed_hashes_never_the_number():
    key = phone_caller_key("+1 555-000-1111", SECRET)
    assert key == phone_caller_key("+15550001111", SECRET)
    assert key.startswith("tel:") and "5550001111" not in key
    assert key != phone_caller_key("+15550001111", b"x" * 32)  # another deployment's secret
    assert phone_caller_key("anonymous", SECRET) is None
    assert phone_caller_key("15550001111", SECRET) is None  # E.164 needs its +
    assert participant_caller_key("user-7", SECRET).startswith("participant:")


def test_the_secret_is_kept_in_the_data_directory_owner_only(tmp_path):
    env = {"GEMINI_LIVE_DATA_DIR": str(tmp_path)}
    first = caller_secret(env)
    assert caller_secret(env) == first and len(first) == 32
    assert stat.S_IMODE(os.stat(tmp_path / "caller-key.secret").st_mode) == 0o600
    assert caller_secret({**env, "CALLER_KEY_SECRET": "s"}) != first


def test_cookies_are_signed():
    signer = CookieSigner(SECRET)
    cookie = signer.new()
    key = signer.caller_key(cookie)
    assert key is not None and key.startswith("web:")
    ident, issued, sig = cookie.split(".")
    assert signer.caller_key(ident[:-1] + ("A" if ident[-1] != "A" else "B") + f".{issued}." + sig) is None
    # The issue time is signed: a browser cannot make its cookie younger.
    assert signer.caller_key(f"{ident}.{int(issued) + 100}.{sig}") is None
    assert CookieSigner(b"other" * 8).caller_key(cookie) is None
    for junk in (None, "", "abc", "x" * 500, "a.b.c", "A" * 32 + ".\u00e9"):  # non-ASCII: refused, not raised
        assert signer.caller_key(junk) is None


def test_a_cookie_expires_server_side_after_its_max_age():
    now = [1_800_000_000.0]
    signer = CookieSigner(SECRET, max_age_s=3600, clock=lambda: now[0])
    cookie = signer.new()
    now[0] += 3600
    assert signer.caller_key(cookie) is not None  # exactly the max age: still good
    now[0] += 1
    assert signer.caller_key(cookie) is None  # older: a stranger, whatever the browser kept
    now[0] -= 3601 + 3600
    assert signer.caller_key(cookie) is None  # issued an hour in the future: not ours
    with pytest.raises(ValueError):
        CookieSigner(SECRET, max_age_s=0)


def test_the_cookie_max_age_follows_the_retention_or_its_own_setting(tmp_path):
    from pipecat_gemini_live.apps.memory import CallerMemory

    memory = CallerMemory(store_at(tmp_path, retention_s=86400.0), SECRET)
    assert memory.cookie_max_age_s == 86400 and memory.cookies.max_age_s == 86400
    env = {"CALLER_MEMORY": "on", "GEMINI_LIVE_DATA_DIR": str(tmp_path), "MEMORY_COOKIE_MAX_DAYS": "2"}
    memory = CallerMemory.from_env(env)
    assert memory.cookie_max_age_s == 2 * 86400
    memory.close()
    with pytest.raises(ValueError, match="MEMORY_COOKIE_MAX_DAYS"):
        CallerMemory.from_env({**env, "MEMORY_COOKIE_MAX_DAYS": "-1"})


def test_the_sqlite_file_is_owner_only_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        store = store_at(tmp_path / "data")
        store.append("tel:a", "CA1", "user", "hello")
    finally:
        os.umask(old)
    for name in ("m.sqlite3", "m.sqlite3-wal"):
        assert stat.S_IMODE(os.stat(tmp_path / "data" / name).st_mode) == 0o600, name
    assert stat.S_IMODE(os.stat(tmp_path / "data").st_mode) == 0o700
    store.close()


def test_tables_made_by_another_process_meanwhile_are_not_an_error(tmp_path, monkeypatch):
    """Two bots starting at once: the other one's create_all won between the check and ours."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from pipecat_gemini_live.apps.memory import store as store_module

    real = store_module._Base.metadata.create_all
    raced = []

    def create_all(bind, checkfirst=True, **kw):
        if not raced:
            raced.append(True)
            real(bind, checkfirst=checkfirst, **kw)  # the other process...
            raise OperationalError("CREATE TABLE caller_turns", {}, sqlite3.OperationalError("table caller_turns already exists"))
        return real(bind, checkfirst=checkfirst, **kw)

    monkeypatch.setattr(store_module._Base.metadata, "create_all", create_all)
    store = store_at(tmp_path)
    store.append("tel:a", "CA1", "user", "hello")
    assert raced and store.count() == 1
    store.close()


def open_eight_at_once(url: str) -> None:
    """Eight stores open one new database at the same moment (each creates the tables if
    missing); all of them then see what one writes."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        stores = list(pool.map(lambda _: MemoryStore(url), range(8)))
    stores[0].append("tel:a", "CA1", "user", "hello")
    assert all(s.count() == 1 for s in stores)
    for s in stores:
        s.close()


def test_many_stores_opening_one_new_database_at_once(tmp_path):
    open_eight_at_once(f"sqlite:///{tmp_path / 'race.sqlite3'}")


class _Service:
    def __init__(self):
        self.history = ConversationHistory()


async def test_a_call_is_seeded_with_memory_and_writes_its_own_turns(tmp_path):
    store = store_at(tmp_path)
    store.append("tel:a", "CA1", "user", "My name is Ada.")
    store.append("tel:a", "CA1", "model", "Hello Ada.")
    service = _Service()
    memory = await CallMemory.open(service, store, "tel:a", "CA2")
    assert [(e.role, e.text, e.kind) for e in service.history.entries] == [
        ("user", "My name is Ada.", "context"),
        ("model", "Hello Ada.", "context"),
        ("user", NEW_CALL_NOTE, "context"),
    ]
    # The seed a new session gets (a 2.5 native-audio profile: ends with a user turn).
    seed = service.history.seed(profile_for("gemini-2.5-flash-native-audio-preview-09-2025"))
    assert [c.parts[0].text for c in seed] == ["My name is Ada.", "Hello Ada.", NEW_CALL_NOTE]
    service.history.add_user("What is my name?")
    service.history.model_piece("Your name ")
    service.history.model_piece("is Ada.")
    service.history.end_model_turn()
    service.history.add_turn("user", "(The call has started. Greet the caller.)", kind="opening")
    await memory.close()
    assert [(t.call_id, t.role, t.text) for t in store.recent("tel:a")] == [
        ("CA1", "user", "My name is Ada."),
        ("CA1", "model", "Hello Ada."),
        ("CA2", "user", "What is my name?"),
        ("CA2", "model", "Your name is Ada."),
    ]
    assert memory.written == 2 and memory.failed_writes == 0


async def test_tool_arguments_and_results_are_not_remembered(tmp_path):
    store = store_at(tmp_path)
    service = _Service()
    memory = await CallMemory.open(service, store, "tel:a", "CA1")
    service.history.add_user("What is my balance?")
    service.history.add_turn("model", 'lookup_account({"card": "4111 1111 1111 1111"})', kind="tool_call")
    service.history.add_turn("user", '{"balance": 1204.5, "address": "1 Main St"}', kind="tool_result")
    service.history.add_model("Your balance is about twelve hundred dollars.")
    await memory.close()
    assert [(t.role, t.text) for t in store.recent("tel:a")] == [
        ("user", "What is my balance?"),
        ("model", "Your balance is about twelve hundred dollars."),
    ]


class _SlowStore:
    """A store whose reads take longer than a caller should wait."""

    def __init__(self, store, delay_s):
        self._store, self._delay_s = store, delay_s

    def recent(self, key):
        import time

        time.sleep(self._delay_s)
        return self._store.recent(key)

    def __getattr__(self, name):
        return getattr(self._store, name)


async def test_a_slow_store_does_not_hold_up_the_call(tmp_path):
    import time

    store = store_at(tmp_path)
    store.append("tel:a", "CA1", "user", "My name is Ada.")
    service = _Service()
    started = time.monotonic()
    memory = await CallMemory.open(service, _SlowStore(store, 1.5), "tel:a", "CA2", load_timeout_s=0.2)
    assert time.monotonic() - started < 1.0  # gross: the load was not waited for
    assert memory.loaded == [] and service.history.entries == []
    service.history.add_user("hello")  # its own turns are still written
    await memory.close()
    assert store.count("tel:a") == 2


async def test_a_failing_store_does_not_stop_the_call(tmp_path):
    store = store_at(tmp_path)
    service = _Service()
    memory = await CallMemory.open(service, store, "tel:a", "CA1")
    store.engine.dispose()
    (tmp_path / "m.sqlite3").unlink()
    # The database file is replaced by a directory: every write fails.
    (tmp_path / "m.sqlite3").mkdir()
    service.history.add_user("hello")
    service.history.add_model("hi")
    await memory.close()
    assert [e.text for e in service.history.entries] == ["hello", "hi"]
    assert memory.failed_writes == 2 and memory.written == 0


def test_the_cli_forgets_a_phone_caller(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GEMINI_LIVE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MEMORY_DATABASE_URL", raising=False)
    monkeypatch.delenv("CALLER_KEY_SECRET", raising=False)
    store = MemoryStore()
    key = phone_caller_key("+15550001111", caller_secret())
    store.append(key, "CA1", "user", "hello")
    store.append("tel:other", "CA2", "user", "hi")
    assert memory_cli(["count", "--phone", "+15550001111"]) == 0
    assert capsys.readouterr().out.strip() == "1"
    memory_cli(["forget", "--phone", "+1 555 000 1111"])
    assert capsys.readouterr().out.strip() == "forgot 1 turns"
    assert store.count(key) == 0 and store.count() == 1
    with pytest.raises(SystemExit, match="not an E.164 phone number"):
        memory_cli(["forget", "--phone", "anonymous"])
    # Without its +, a number is refused with the reason (it would name another caller, or
    # none: the bot keys Twilio's E.164 From), and nothing is deleted.
    store.append(key, "CA3", "user", "again")
    with pytest.raises(SystemExit, match=r"needs the leading \+ and country code"):
        memory_cli(["forget", "--phone", "15550001111"])
    assert store.count(key) == 1


def test_memory_is_off_unless_asked_for_and_read_from_the_environment(tmp_path):
    from pipecat_gemini_live.apps.memory import CallerMemory
    from pipecat_gemini_live.apps.memory.phone import PhoneMemory
    from pipelines.twilio_bot import TwilioBotConfig

    env = {"GEMINI_LIVE_DATA_DIR": str(tmp_path), "CALLER_KEY_SECRET": "s"}
    assert CallerMemory.from_env(env) is None and TwilioBotConfig.from_env(env).memory is None
    on = {**env, "CALLER_MEMORY": "on", "MEMORY_MAX_TURNS": "5", "MEMORY_MAX_MINUTES": "0", "MEMORY_RETENTION_DAYS": "2"}
    memory = PhoneMemory.from_env(on)
    assert memory.store.url == f"sqlite:///{tmp_path / 'memory.sqlite3'}"
    assert memory.store.policy == MemoryPolicy(max_turns=5, max_age_s=None, retention_s=2 * 86400)
    assert memory.caller_key({"From": ["+15550001111"]}) == phone_caller_key("+15550001111", caller_secret(on))
    assert memory.caller_key({"From": ["anonymous"]}) is None and memory.caller_key({}) is None
    assert PhoneMemory.token_subject("CA1", None) == "CA1" != PhoneMemory.token_subject("CA1", "tel:x")
    assert isinstance(TwilioBotConfig.from_env(on).memory, PhoneMemory)
    with pytest.raises(ValueError):
        MemoryPolicy.from_env({"MEMORY_MAX_TURNS": "lots"})
    memory.close()


async def test_many_calls_write_to_one_sqlite_file_at_once(tmp_path):
    store = store_at(tmp_path, max_turns=None)
    services = [_Service() for _ in range(8)]
    memories = [await CallMemory.open(s, store, f"tel:{i}", f"CA{i}") for i, s in enumerate(services)]
    for n in range(25):
        for s in services:
            s.history.add_user(f"turn {n}")
    for m in memories:
        await m.close()
    assert [store.count(f"tel:{i}") for i in range(8)] == [25] * 8
    assert sum(m.failed_writes for m in memories) == 0
    assert [t.text for t in store.recent("tel:3")] == [f"turn {n}" for n in range(25)]


def test_workers_starting_together_share_one_whole_secret(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from pipecat_gemini_live.apps.memory.keys import caller_secret

    env = {"GEMINI_LIVE_DATA_DIR": str(tmp_path / "data")}
    with ThreadPoolExecutor(8) as pool:
        secrets_seen = list(pool.map(lambda _: caller_secret(env), range(16)))
    assert len(set(secrets_seen)) == 1 and len(secrets_seen[0]) == 32
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["caller-key.secret"]


def test_a_memory_setting_that_is_no_finite_number_is_refused():
    for raw in ("nan", "inf", "-3"):
        with pytest.raises(ValueError):
            MemoryPolicy.from_env({"MEMORY_RETENTION_DAYS": raw})

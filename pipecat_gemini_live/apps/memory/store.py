"""Callers' conversation memory in a SQL database (SQLAlchemy): one row per turn.

SQLite by default (``memory.sqlite3`` under the app's data directory, :func:`data_dir`); any
SQLAlchemy URL in production (``postgresql+psycopg://...``). A caller is known only by a
*caller key* (:mod:`.keys`): a keyed hash of a phone number, a signed cookie's id, a
participant id the application gives; the store never sees a phone number.

Rows are written one turn at a time, each in its own transaction, so a process that dies
mid-call loses at most the turn in flight. Reads take the caller's last ``max_turns`` turns
no older than ``max_age_s``; rows older than ``retention_s`` are deleted (:meth:`purge`, run at
open and by the CLI).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Float, Index, Integer, String, Text, create_engine, delete, event, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

APP_NAME = "pipecat-gemini-live"
DB_FILE = "memory.sqlite3"
MAX_KEY_CHARS = 128
MAX_TEXT_CHARS = 20_000
# pg_advisory_xact_lock key that serialises creating the tables ("gl-memory" as a bigint).
SCHEMA_LOCK_KEY = int.from_bytes(b"gl-memory", "big") & 0x7FFF_FFFF_FFFF_FFFF


def data_dir(env: dict[str, str] | None = None) -> Path:
    """The app's data directory: ``GEMINI_LIVE_DATA_DIR``, else ``$XDG_DATA_HOME/pipecat-gemini-live``,
    else ``~/.local/share/pipecat-gemini-live`` (not created here)."""
    env = os.environ if env is None else env
    if env.get("GEMINI_LIVE_DATA_DIR"):
        return Path(env["GEMINI_LIVE_DATA_DIR"]).expanduser()
    base = env.get("XDG_DATA_HOME") or str(Path("~/.local/share").expanduser())
    return Path(base) / APP_NAME


def default_url(env: dict[str, str] | None = None) -> str:
    """``MEMORY_DATABASE_URL`` if set, else a SQLite file under :func:`data_dir`."""
    env = os.environ if env is None else env
    return env.get("MEMORY_DATABASE_URL") or f"sqlite:///{data_dir(env) / DB_FILE}"


class _Base(DeclarativeBase):
    pass


class TurnRow(_Base):
    """One remembered turn: ``role`` is ``"user"`` or ``"model"``; ``at`` is Unix time, seconds."""

    __tablename__ = "caller_turns"
    __table_args__ = (Index("ix_caller_turns_caller_at", "caller_key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    caller_key: Mapped[str] = mapped_column(String(MAX_KEY_CHARS))
    call_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[float] = mapped_column(Float)


@dataclass(frozen=True)
class RememberedTurn:
    """A turn read back: ``role`` ``"user"`` / ``"model"``, ``at`` Unix seconds."""

    role: str
    text: str
    kind: str
    at: float
    call_id: str


@dataclass(frozen=True)
class MemoryPolicy:
    """What is given back at connect, and how long anything is kept.

    Attributes:
        max_turns: Most turns loaded at connect (the newest); None: no count limit.
        max_age_s: Only turns newer than this, seconds; None: no age limit.
        retention_s: Turns older than this are deleted, seconds; None: kept until deleted.
    """

    max_turns: int | None = 20
    max_age_s: float | None = 7 * 24 * 3600.0
    retention_s: float | None = 30 * 24 * 3600.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "MemoryPolicy":
        """``MEMORY_MAX_TURNS``, ``MEMORY_MAX_MINUTES``, ``MEMORY_RETENTION_DAYS`` (``0``: no
        limit), else the defaults.

        Raises:
            ValueError: A value that is not a number.
        """
        env = os.environ if env is None else env
        default = cls()

        def read(name: str, scale: float, fallback):
            raw = env.get(name)
            if raw is None or raw == "":
                return fallback
            value = float(raw)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name}={raw!r}: a finite number >= 0 (0: no limit)")
            return None if value == 0 else value * scale

        turns = read("MEMORY_MAX_TURNS", 1, default.max_turns)
        return cls(
            max_turns=None if turns is None else int(turns),
            max_age_s=read("MEMORY_MAX_MINUTES", 60.0, default.max_age_s),
            retention_s=read("MEMORY_RETENTION_DAYS", 86400.0, default.retention_s),
        )

    def __post_init__(self) -> None:
        for name in ("max_turns", "max_age_s", "retention_s"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"MemoryPolicy.{name} must be positive or None, not {value!r}")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Calls write from their own threads: WAL lets readers go on during a write, and a writer
    # waits for the lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    # Each commit survives the process dying (WAL with NORMAL syncs at checkpoints, not per commit).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _create_sqlite_file(path: Path) -> None:
    """The database file (and its directory, 0700) made owner-only before SQLite opens it:
    SQLite would create it with the umask's mode (often world-readable), and what callers said
    is in it. SQLite gives its -wal and -shm files the database file's mode."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))


def _create_tables(engine: Engine) -> None:
    """Create the table and index unless they exist, safe against other processes doing the same.

    Two bot processes starting at once against one database both see no table and both create
    it; the loser fails on a duplicate (PostgreSQL: a unique violation on ``pg_type``, or
    "already exists"). On PostgreSQL a transaction-scoped advisory lock serialises the check and
    the create; anywhere, a duplicate error means the other process made them, checked again.
    """
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            _Base.metadata.create_all(conn, checkfirst=True)
    except DBAPIError as e:
        message = str(e.orig).lower()
        if "already exists" not in message and "duplicate" not in message:
            raise
        _Base.metadata.create_all(engine, checkfirst=True)


def _check_key(caller_key: str) -> str:
    if not isinstance(caller_key, str) or not caller_key or len(caller_key) > MAX_KEY_CHARS:
        raise ValueError(f"a caller key is a non-empty string of at most {MAX_KEY_CHARS} characters")
    return caller_key


class MemoryStore:
    """The turn table behind a SQLAlchemy engine (thread-safe; blocking calls).

    Args:
        url: A SQLAlchemy URL (default: :func:`default_url`); a SQLite file is created mode
            0600 in a directory created mode 0700.
        policy: Load window and retention.
        engine: An engine to use instead of ``url`` (the caller disposes of it).

    Raises:
        sqlalchemy.exc.ArgumentError: A malformed URL.
        sqlalchemy.exc.OperationalError: The database cannot be reached or created.
    """

    def __init__(self, url: str | None = None, *, policy: MemoryPolicy | None = None, engine: Engine | None = None):
        self.policy = policy or MemoryPolicy()
        self._own_engine = engine is None
        if engine is None:
            url = url or default_url()
            if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
                _create_sqlite_file(Path(url[len("sqlite:///") :]).expanduser())
            engine = create_engine(url, pool_pre_ping=True)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
        self.engine = engine
        _create_tables(engine)
        self.purge()

    @property
    def url(self) -> str:
        """The database URL with any password hidden (for logs)."""
        return self.engine.url.render_as_string(hide_password=True)

    def append(self, caller_key: str, call_id: str, role: str, text: str, kind: str = "speech", at: float | None = None) -> None:
        """Write one turn now (its own transaction).

        Raises:
            ValueError: A bad caller key or role.
        """
        _check_key(caller_key)
        if role not in ("user", "model"):
            raise ValueError(f"role must be 'user' or 'model', not {role!r}")
        row = TurnRow(
            caller_key=caller_key,
            call_id=call_id[:64],
            role=role,
            kind=kind[:16],
            text=text[:MAX_TEXT_CHARS],
            at=time.time() if at is None else at,
        )
        with Session(self.engine) as session, session.begin():
            session.add(row)

    def recent(self, caller_key: str, now: float | None = None) -> list[RememberedTurn]:
        """The caller's turns to give a new call, oldest first (see :class:`MemoryPolicy`)."""
        _check_key(caller_key)
        now = time.time() if now is None else now
        query = select(TurnRow).where(TurnRow.caller_key == caller_key)
        if self.policy.max_age_s is not None:
            query = query.where(TurnRow.at >= now - self.policy.max_age_s)
        query = query.order_by(TurnRow.at.desc(), TurnRow.id.desc())
        if self.policy.max_turns is not None:
            query = query.limit(self.policy.max_turns)
        with Session(self.engine) as session:
            rows = session.scalars(query).all()
            turns = [RememberedTurn(r.role, r.text, r.kind, r.at, r.call_id) for r in rows]
        turns.reverse()
        return turns

    def count(self, caller_key: str | None = None) -> int:
        """Turns stored for one caller (or for everyone)."""
        query = select(func.count()).select_from(TurnRow)
        if caller_key is not None:
            query = query.where(TurnRow.caller_key == _check_key(caller_key))
        with Session(self.engine) as session:
            return int(session.scalar(query) or 0)

    def forget(self, caller_key: str) -> int:
        """Delete everything remembered about a caller; returns the rows deleted."""
        _check_key(caller_key)
        with Session(self.engine) as session, session.begin():
            return session.execute(delete(TurnRow).where(TurnRow.caller_key == caller_key)).rowcount or 0

    def purge(self, now: float | None = None) -> int:
        """Delete turns past the retention limit; returns the rows deleted."""
        if self.policy.retention_s is None:
            return 0
        cutoff = (time.time() if now is None else now) - self.policy.retention_s
        with Session(self.engine) as session, session.begin():
            return session.execute(delete(TurnRow).where(TurnRow.at < cutoff)).rowcount or 0

    def close(self) -> None:
        """Release the engine's connections (when this store created the engine)."""
        if self._own_engine:
            self.engine.dispose()

"""The memory store's command line.

    python -m pipecat_gemini_live.apps.memory forget --phone +15550001111
    python -m pipecat_gemini_live.apps.memory forget --caller-key tel:3f9a...
    python -m pipecat_gemini_live.apps.memory count [--phone N | --caller-key K]
    python -m pipecat_gemini_live.apps.memory purge

``--db`` (default ``MEMORY_DATABASE_URL``, else the SQLite file in the data directory) and the
caller-key secret (``CALLER_KEY_SECRET``, else the data directory's) are the bots' own, so a
phone number names the same caller the Twilio bot remembers. Numbers are hashed, never printed.
"""

from __future__ import annotations

import argparse
import sys

from .keys import caller_secret, participant_caller_key, phone_caller_key
from .store import MemoryPolicy, MemoryStore, default_url


def _caller_key(args: argparse.Namespace) -> str | None:
    if args.caller_key:
        return args.caller_key
    if args.phone:
        key = phone_caller_key(args.phone, caller_secret())
        if key is None:
            why = " (it needs the leading + and country code)" if args.phone.strip()[:1].isdigit() else ""
            raise SystemExit(f"error: {args.phone!r} is not an E.164 phone number{why}, e.g. +15550001111")
        return key
    if args.participant:
        return participant_caller_key(args.participant, caller_secret())
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    p = argparse.ArgumentParser(prog="python -m pipecat_gemini_live.apps.memory", description="Callers' conversation memory.")
    p.add_argument("--db", default=None, help="SQLAlchemy URL (default: MEMORY_DATABASE_URL or the data directory's SQLite file)")
    sub = p.add_subparsers(dest="command", required=True)
    for name, text in (("forget", "delete everything remembered about one caller"), ("count", "turns stored")):
        cmd = sub.add_parser(name, help=text)
        who = cmd.add_mutually_exclusive_group(required=name == "forget")
        who.add_argument("--phone", help="the caller's phone number (hashed with the deployment's secret)")
        who.add_argument("--participant", help="a room participant id the application gave")
        who.add_argument("--caller-key", help="a caller key as stored (tel:..., web:..., participant:...)")
    purge = sub.add_parser("purge", help="delete turns past the retention limit")
    purge.add_argument(
        "--retention-days", type=float, default=None, help="default: the deployment's MEMORY_RETENTION_DAYS"
    )
    args = p.parse_args(argv)

    try:
        policy = MemoryPolicy.from_env()
    except ValueError as e:
        p.error(str(e))
    if args.command == "purge" and args.retention_days is not None:
        # 0 means no limit, as in MEMORY_RETENTION_DAYS: nothing is past it.
        policy = MemoryPolicy(retention_s=args.retention_days * 86400 or None)
    elif args.command != "purge":
        policy = MemoryPolicy(retention_s=None)  # forget / count never purge on the way
    store = MemoryStore(args.db or default_url(), policy=policy)
    try:
        if args.command == "forget":
            print(f"forgot {store.forget(_caller_key(args))} turns")
        elif args.command == "count":
            print(store.count(_caller_key(args)))
        else:
            print(f"purged {store.purge()} turns")
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

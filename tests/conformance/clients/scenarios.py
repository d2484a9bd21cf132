"""The conformance scenarios, written once for every Python client (google-genai 2.x, 3.x, raw).

Runs as part of a client script, in whatever virtualenv that client lives in: standard library
only. A client is an adapter (``connect``, ``send_audio``, ``send_text``, ``send_client_content``,
``send_tool_response``, ``recv``, ``close``, ``create_token``) over its own API; the scenarios
below drive it and return what it saw as plain JSON, reduced to what must not differ between
clients (no timings). ``clients/node_client.mjs`` is the same scenarios for the JavaScript SDK.

Input (stdin): ``{"plans": [{"scenario", "base_url", "ca_file", "api_key", "model", "audio",
"options"}]}``. Output (stdout, last line): ``{"results": [...]}`` in the same order.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import traceback


class Closed(Exception):
    """The connection ended: ``code`` as the client saw it (1006 without a close frame)."""

    def __init__(self, code, reason=""):
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason or ""


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def kinds(msg: dict) -> list[str]:
    """What one server message carries, by kind (camelCase, model parts split by type)."""
    out = []
    for key, value in msg.items():
        key = camel(key)
        if key == "serverContent":
            for sub, body in value.items():
                sub = camel(sub)
                if sub == "modelTurn":
                    for part in body.get("parts", []):
                        out.append("audio" if ("inlineData" in part or "inline_data" in part) else "text")
                elif sub == "interactionStatus":
                    continue  # an annotation of turnComplete, not a message kind
                elif body not in (None, False):
                    out.append(sub)
        elif key == "setupComplete":
            continue  # the Python SDK consumes it inside connect(); adapters report it separately
        elif value is not None:
            out.append(key)
    return out


def pcm_chunks(path: str, ms: int = 20) -> list[bytes]:
    data = open(path, "rb").read()
    step = 16 * ms * 2
    return [data[i : i + step] for i in range(0, len(data), step)]


def turn_summary() -> dict:
    return {"kinds": [], "transcript": "", "input": "", "audio_bytes": 0, "usage_total": None}


def absorb(summary: dict, msg: dict) -> list[str]:
    ks = kinds(msg)
    for k in ks:
        if not summary["kinds"] or summary["kinds"][-1] != k:
            summary["kinds"].append(k)
    sc = msg.get("serverContent") or {}
    if "outputTranscription" in sc:
        summary["transcript"] += sc["outputTranscription"].get("text", "")
    if "inputTranscription" in sc:
        summary["input"] += sc["inputTranscription"].get("text", "")
    for part in (sc.get("modelTurn") or {}).get("parts", []):
        if "inlineData" in part:
            summary["audio_bytes"] += part["inlineData"]["bytes"]
    usage = msg.get("usageMetadata")
    if usage:
        summary["usage_total"] = usage.get("totalTokenCount")
    return ks


def shape(kinds_seq: list[str]) -> dict:
    """Order of first appearance and the ending: what a turn looks like, without its length."""
    first = []
    for k in kinds_seq:
        if k not in first:
            first.append(k)
    return {"first_seen": first, "ending": kinds_seq[-2:]}


async def collect_turn(c, *, on_message=None, timeout=20.0) -> dict:
    summary = turn_summary()
    while True:
        msg = await c.recv(timeout)
        ks = absorb(summary, msg)
        if on_message is not None:
            await on_message(msg, ks)
        if "turnComplete" in ks:
            return summary


async def until_closed(c, timeout=20.0) -> tuple[Closed, list[dict]]:
    seen = []
    try:
        while True:
            seen.append(await c.recv(timeout))
    except Closed as e:
        return e, seen


def base_config(persona: str, **extra) -> dict:
    config = {
        "responseModalities": ["AUDIO"],
        "systemInstruction": persona,
        "inputAudioTranscription": {},
        "outputAudioTranscription": {},
    }
    config.update(extra)
    return config


WEATHER_TOOL = {
    "functionDeclarations": [
        {
            "name": "get_weather",
            "description": "The weather in a city.",
            "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}},
        }
    ]
}


async def speak(c, path):
    for chunk in pcm_chunks(path):
        await c.send_audio(chunk)


# -- scenarios ---------------------------------------------------------------------------------


async def s_setup(c, plan):
    await c.connect(plan["model"], base_config("You are the setup persona."))
    ok = c.setup_complete
    await c.close()
    return {"setup_complete": ok}


async def s_audio_turn(c, plan):
    await c.connect(plan["model"], base_config("You are the audio persona."))
    await speak(c, plan["audio"]["turn1"])
    t1 = await collect_turn(c)
    await speak(c, plan["audio"]["turn2"])
    t2 = await collect_turn(c)
    await c.close()
    return {"turns": [t1, t2]}


async def s_text_turn(c, plan):
    await c.connect(plan["model"], base_config("You are the text persona."))
    await c.send_text("What time is it?")
    t = await collect_turn(c)
    await c.close()
    return {"turn": t}


async def s_barge_in(c, plan):
    await c.connect(plan["model"], base_config("You are the patient persona."))
    await speak(c, plan["audio"]["long"])
    started = []

    async def barge(msg, ks):
        if "audio" in ks and not started:
            started.append(asyncio.ensure_future(speak(c, plan["audio"]["turn1"])))

    cut = await collect_turn(c, on_message=barge)
    if started:
        await started[0]
    answer = await collect_turn(c)
    await c.close()
    return {"cut": shape(cut["kinds"]), "answer": shape(answer["kinds"]), "answer_transcript": answer["transcript"]}


async def s_tool_call(c, plan):
    await c.connect(plan["model"], base_config("You are the weather persona.", tools=[WEATHER_TOOL]))
    await speak(c, plan["audio"]["turn1"])
    calls = []
    summary = turn_summary()
    while not calls:
        msg = await c.recv(20)
        absorb(summary, msg)
        calls = (msg.get("toolCall") or {}).get("functionCalls") or []
    await c.send_tool_response(
        [{"id": call["id"], "name": call["name"], "response": {"temp_c": 21, "sky": "clear"}} for call in calls]
    )
    t = await collect_turn(c)
    await c.close()
    return {
        "calls": [{"name": x["name"], "args": x.get("args")} for x in calls],
        "before_call": summary["kinds"],
        "turn": t,
    }


async def s_resumption(c, plan):
    await c.connect(plan["model"], base_config("You are the durable persona.", sessionResumption={}))
    await speak(c, plan["audio"]["turn1"])
    handle, go_away = None, None
    first = await collect_turn(c)
    closed, rest = await until_closed(c)
    for msg in rest:
        update = msg.get("sessionResumptionUpdate") or {}
        if update.get("newHandle"):
            handle = update["newHandle"]
        if msg.get("goAway"):
            go_away = msg["goAway"].get("timeLeft")
    await c.close()
    await c.connect(plan["model"], base_config("You are the durable persona.", sessionResumption={"handle": handle}))
    await speak(c, plan["audio"]["turn2"])
    second = await collect_turn(c)
    await c.close()
    return {
        "first": first["transcript"],
        "go_away_time_left_is_duration": bool(go_away and re.fullmatch(r"[0-9.]+s", go_away)),
        "handle_after_turn": handle is not None,
        "close": [closed.code, closed.reason],
        "resumed": second["transcript"],
    }


async def s_close(c, plan):
    await c.connect(plan["model"], base_config("You are the fragile persona."))
    await speak(c, plan["audio"]["turn1"])
    closed, seen = await until_closed(c)
    got_audio = any("audio" in kinds(m) for m in seen)
    await c.close()
    return {"close": [closed.code, closed.reason], "audio_before_close": got_audio}


async def s_client_content_31(c, plan):
    await c.connect(plan["model"], base_config("You are the strict persona."))
    await c.send_text("Hello there.")
    t = await collect_turn(c)
    await c.send_client_content([{"role": "user", "parts": [{"text": "A late thought."}]}], True)
    closed, _ = await until_closed(c)
    await c.close()
    return {"first_turn": t["kinds"][-2:], "close": [closed.code, closed.reason]}


async def s_initial_history_31(c, plan):
    config = base_config("You are the seeded persona.", historyConfig={"initialHistoryInClientContent": True})
    await c.connect(plan["model"], config)
    await c.send_client_content(
        [
            {"role": "user", "parts": [{"text": "My name is Ada."}]},
            {"role": "model", "parts": [{"text": "Hello Ada."}]},
        ],
        False,
    )
    await speak(c, plan["audio"]["turn1"])
    try:
        t = await collect_turn(c)
    except Closed as e:  # a client that cannot send historyConfig meets the 3.1 rule instead
        return {"close": [e.code, e.reason]}
    await c.close()
    return {"turn": t}


async def s_ephemeral_token(c, plan):
    token = await c.create_token(
        {
            "uses": 1,
            "model": plan["model"],
            "config": base_config("You are the token persona."),
        }
    )
    await c.connect(plan["model"], base_config("You are an impostor persona."), token=token)
    await speak(c, plan["audio"]["turn1"])
    t = await collect_turn(c)
    await c.close()
    try:
        await c.connect(plan["model"], base_config("You are an impostor persona."), token=token)
        await c.send_text("again")
        closed, _ = await until_closed(c)
        reuse = [closed.code, closed.reason]
    except Closed as e:
        reuse = [e.code, e.reason]
    await c.close()
    return {"token_prefix": token.split("/")[0] + "/", "turn": t, "reuse": reuse}


SCENARIOS = {
    "setup": s_setup,
    "audio_turn": s_audio_turn,
    "text_turn": s_text_turn,
    "barge_in": s_barge_in,
    "tool_call": s_tool_call,
    "resumption": s_resumption,
    "close": s_close,
    "client_content_31": s_client_content_31,
    "initial_history_31": s_initial_history_31,
    "ephemeral_token": s_ephemeral_token,
}


async def _run_one(make_client, plan):
    c = make_client(plan)
    try:
        result = await asyncio.wait_for(SCENARIOS[plan["scenario"]](c, plan), 60)
        return {"ok": True, **result}
    except Exception as e:  # reported, compared, and failed by the test: never hidden
        return {"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-1500:]}
    finally:
        try:
            await c.close()
        except Exception:
            pass


def main(make_client, info: dict) -> None:
    """Read plans from stdin, run them in order, print ``{"client": info, "results": [...]}``."""
    plans = json.loads(sys.stdin.read())["plans"]

    async def run_all():
        return [await _run_one(make_client, plan) for plan in plans]

    results = asyncio.run(run_all())
    print(json.dumps({"client": info, "results": results}))

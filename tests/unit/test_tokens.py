"""Ephemeral tokens without sockets: minting, spending, and which setup fields they lock."""

from __future__ import annotations

import pytest

from gemini_live_emulator.model.tokens import TokenStore, constrain
from gemini_live_emulator.wire import ProtocolError


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


def test_uses_count_new_sessions_not_resumptions():
    clock = Clock()
    store = TokenStore(clock)
    token = store.issue(uses=1)
    store.admit(token.name, resuming=False)
    store.admit(token.name, resuming=True)  # resuming is free
    with pytest.raises(ProtocolError) as e:
        store.admit(token.name, resuming=False)
    assert e.value.code == 1008
    unlimited = store.issue(uses=0)
    for _ in range(5):
        store.admit(unlimited.name, resuming=False)


def test_new_session_and_overall_expiry():
    clock = Clock()
    store = TokenStore(clock)
    token = store.issue(uses=0)  # defaults: new sessions for 60 s, valid 30 min
    clock.now += 61
    with pytest.raises(ProtocolError):
        store.admit(token.name, resuming=False)
    store.admit(token.name, resuming=True)
    clock.now += 30 * 60
    with pytest.raises(ProtocolError):
        store.admit(token.name, resuming=True)


def test_rest_body_as_the_sdks_send_it():
    store = TokenStore(Clock())
    token = store.issue_from_rest({
        "uses": 2,
        "expireTime": "1970-01-12T13:46:40Z",  # epoch 1_000_000, i.e. already at its end
        "bidiGenerateContentSetup": {"model": "models/gemini-3.8-live", "generation_config": {"temperature": 0.1}},
        "fieldMask": "model,generationConfig.temperature",
    })
    assert token.name.startswith("auth_tokens/") and token.uses == 2
    assert token.expire_at == 1_000_000.0
    assert token.setup == {"model": "models/gemini-3.8-live", "generationConfig": {"temperature": 0.1}}
    assert token.field_mask == ["model", "generationConfig.temperature"]
    for bad in ({"uses": "two"}, {"expireTime": "tomorrow"}, [1]):
        with pytest.raises(ValueError):
            store.issue_from_rest(bad)


def test_full_lock_replaces_the_clients_setup_but_keeps_its_handle():
    token = TokenStore(Clock()).issue(setup={"systemInstruction": "locked", "model": "models/m"})
    client = {"model": "models/other", "system_instruction": "mine", "sessionResumption": {"handle": "h"}}
    assert constrain(client, token) == {"systemInstruction": "locked", "model": "models/m", "sessionResumption": {"handle": "h"}}
    assert client["system_instruction"] == "mine"  # the client's dict is left alone


def test_field_mask_imposes_only_the_named_paths():
    token = TokenStore(Clock()).issue(
        setup={"generationConfig": {"temperature": 0.1, "topK": 5}, "systemInstruction": "locked"},
        field_mask=["generationConfig.temperature", "generationConfig.seed", "tools"],
    )
    client = {
        "model": "models/m",
        "generation_config": {"temperature": 0.9, "seed": 7, "top_k": 40},
        "systemInstruction": "mine",
        "tools": [{"functionDeclarations": []}],
    }
    assert constrain(client, token) == {
        "model": "models/m",
        # temperature from the token; seed locked but unset there, so the default (dropped);
        # topK not locked, so the client's.
        "generationConfig": {"temperature": 0.1, "topK": 40},
        "systemInstruction": "mine",
    }


def test_an_unconstrained_token_leaves_the_setup_alone():
    token = TokenStore(Clock()).issue()
    client = {"model": "models/m"}
    assert constrain(client, token) is client

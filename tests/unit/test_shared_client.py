"""One genai Client per process and endpoint: shared by equal settings, never across different ones."""

from __future__ import annotations

import ssl

import pytest
from google.genai import types

from pipecat_gemini_live.call import clients
from pipecat_gemini_live.call.clients import clear_shared_clients, shared_client


@pytest.fixture(autouse=True)
def _fresh():
    clear_shared_clients()
    yield
    clear_shared_clients()


def _options(ctx, base_url="https://127.0.0.1:9"):
    return types.HttpOptions(base_url=base_url, client_args={"verify": ctx}, async_client_args={"ssl": ctx, "verify": ctx})


def test_equal_settings_share_one_client_even_from_fresh_options_objects():
    ctx = ssl.create_default_context()
    a = shared_client(api_key="k1", http_options=_options(ctx))
    assert shared_client(api_key="k1", http_options=_options(ctx)) is a


def test_a_different_key_endpoint_or_ssl_context_gets_its_own_client():
    ctx = ssl.create_default_context()
    a = shared_client(api_key="k1", http_options=_options(ctx))
    assert shared_client(api_key="k2", http_options=_options(ctx)) is not a
    assert shared_client(api_key="k1", http_options=_options(ctx, "https://127.0.0.1:10")) is not a
    assert shared_client(api_key="k1", http_options=_options(ssl.create_default_context())) is not a


def test_the_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(clients, "MAX_CLIENTS", 2)
    ctx = ssl.create_default_context()
    first = shared_client(api_key="k0", http_options=_options(ctx))
    shared_client(api_key="k1", http_options=_options(ctx))
    shared_client(api_key="k2", http_options=_options(ctx))
    assert len(clients._clients) == 2
    assert shared_client(api_key="k0", http_options=_options(ctx)) is not first


def test_services_of_one_process_share_the_client():
    from pipecat_gemini_live import GeminiLiveLLMService

    ctx = ssl.create_default_context()
    one = GeminiLiveLLMService(api_key="k", http_options=_options(ctx))
    two = GeminiLiveLLMService(api_key="k", http_options=_options(ctx))
    assert one._client_for_sessions() is two._client_for_sessions()


def test_the_live_websocket_declines_compression_unless_asked():
    from pipecat_gemini_live import GeminiLiveLLMService, LiveOptions
    from pipecat_gemini_live.call.clients import without_ws_compression

    ctx = ssl.create_default_context()
    given = _options(ctx)
    plain = without_ws_compression(given)
    assert plain.async_client_args == {"ssl": ctx, "verify": ctx, "compression": None}
    assert "compression" not in given.async_client_args  # the caller's options are left alone
    assert without_ws_compression(None).async_client_args == {"compression": None}
    keep = types.HttpOptions(async_client_args={"compression": "deflate"})
    assert without_ws_compression(keep).async_client_args["compression"] == "deflate"

    default = GeminiLiveLLMService(api_key="k", http_options=given)._client_for_sessions()
    assert default._api_client._websocket_ssl_ctx.get("compression", "deflate") is None
    opted = GeminiLiveLLMService(api_key="k", http_options=given, options=LiveOptions(websocket_compression=True))
    assert "compression" not in opted._client_for_sessions()._api_client._websocket_ssl_ctx

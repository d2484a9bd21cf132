"""pytest fixtures for testing any Gemini Live client against the local emulator.

Installed with ``pipecat-gemini-live`` and loaded by pytest on its own (the ``pytest11`` entry
point ``gemini_live``); nothing to import or configure. Loading it costs nothing: the emulator
package imports its parts on first use, and the server is imported only when a test asks for a
fixture. Three fixtures:

``live_emulator`` (async, needs pytest-asyncio)
    A :class:`~gemini_live_emulator.LiveEmulator` running on the test's event loop,
    configured by the test's ``gemini_live`` marker.
``live_emulator_factory`` (async, needs pytest-asyncio)
    ``await live_emulator_factory(**settings)`` starts one more emulator per call (several
    configurations in one test); all stop at teardown.
``live_emulator_thread`` (sync)
    The same emulator, served from a background thread: for synchronous tests and clients in
    other processes (``emu.client_env()`` gives their environment).

The marker takes any :class:`~gemini_live_emulator.EmulatorConfig` field, plus
``behaviour`` as a shortcut for "every model follows this family's rules"::

    @pytest.mark.gemini_live(think_ms=50, scenario=['1:get_weather{"city": "Paris"}'],
                             faults=["close:1011@reply"], lifetime_s=600, time_scale=60,
                             behaviour="3.1")
    async def test_my_bot(live_emulator):
        client = genai.Client(api_key=live_emulator.api_key,
                              http_options=live_emulator.http_options())
        ...
        await live_emulator.wait_closed()
        assert live_emulator.close_codes == [1000]

What the emulator received is on the emulator: ``setups``, ``client_messages(i)``,
``tool_responses``, ``client_content``, ``close_codes``, and ``records`` (everything).
See gemini_live_emulator/README.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from gemini_live_emulator import EmulatorConfig

MARKER = "gemini_live"

try:
    import pytest_asyncio

    _async_fixture = pytest_asyncio.fixture
    _HAVE_ASYNCIO = True
except ImportError:  # the sync fixture still works; the async ones say what is missing
    _async_fixture = pytest.fixture
    _HAVE_ASYNCIO = False


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``gemini_live`` marker."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**settings): EmulatorConfig fields (think_ms, scenario, faults, lifetime_s, "
        "time_scale, model_behaviours, ...) and behaviour='2.5'|'3.1'|'3.8'|'strict' for the "
        "live_emulator fixtures",
    )


def emulator_config(**settings: Any) -> "EmulatorConfig":
    """An :class:`EmulatorConfig` from marker-style settings.

    Args:
        **settings: ``EmulatorConfig`` fields, and ``behaviour`` (a family name every model
            follows; ``model_behaviours`` entries still take precedence).

    Raises:
        TypeError: For a setting that is not a field (a typo must not pass silently).
        pydantic.ValidationError: For a bad value.
    """
    from gemini_live_emulator import EmulatorConfig

    unknown = set(settings) - set(EmulatorConfig.model_fields) - {"behaviour"}
    if unknown:
        raise TypeError(
            f"unknown emulator setting(s) {sorted(unknown)}; "
            f"known: behaviour, {', '.join(EmulatorConfig.model_fields)}"
        )
    settings = dict(settings)
    behaviour = settings.pop("behaviour", None)
    if behaviour is not None:
        settings["model_behaviours"] = {**settings.get("model_behaviours", {}), "*": behaviour}
    return EmulatorConfig.model_validate(settings)


def _marker_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings of every ``gemini_live`` marker on the test, the closest one winning."""
    settings: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers(MARKER))):
        if marker.args:
            raise TypeError(f"@pytest.mark.{MARKER} takes keyword arguments only")
        settings.update(marker.kwargs)
    return settings


def _need_asyncio() -> None:
    if not _HAVE_ASYNCIO:
        pytest.fail("the live_emulator fixtures need pytest-asyncio (pip install pytest-asyncio); "
                    "live_emulator_thread works without it", pytrace=False)


@_async_fixture
async def live_emulator(request: pytest.FixtureRequest):
    """A running emulator for this test, configured by its ``gemini_live`` marker."""
    _need_asyncio()
    from gemini_live_emulator import LiveEmulator

    async with LiveEmulator(emulator_config(**_marker_settings(request))) as emu:
        yield emu


@_async_fixture
async def live_emulator_factory(request: pytest.FixtureRequest):
    """Start emulators on demand: ``emu = await live_emulator_factory(think_ms=0)``.

    Settings given to the call are laid over the test's ``gemini_live`` marker.
    """
    _need_asyncio()
    from gemini_live_emulator import LiveEmulator

    base = _marker_settings(request)
    started: list[LiveEmulator] = []

    async def make(**settings: Any) -> LiveEmulator:
        emu = await LiveEmulator(emulator_config(**{**base, **settings})).start()
        started.append(emu)
        return emu

    try:
        yield make
    finally:
        for emu in started:
            await emu.stop()


@pytest.fixture
def live_emulator_thread(request: pytest.FixtureRequest):
    """An emulator served from a background thread, for sync tests and other processes."""
    from gemini_live_emulator.threaded import EmulatorThread

    with EmulatorThread() as thread:
        yield thread.start(emulator_config(**_marker_settings(request)))

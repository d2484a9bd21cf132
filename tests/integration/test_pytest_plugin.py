"""The pytest plugin as a user's test file meets it (run in-process with pytester)."""

from __future__ import annotations

import pytest

from gemini_live_emulator.pytest_plugin import emulator_config


def test_markers_configure_the_emulator_closest_wins(pytester):
    pytester.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.gemini_live(think_ms=7, pace=2.0)

        @pytest.mark.gemini_live(think_ms=9, behaviour="3.1", faults=["close:1011@reply"])
        @pytest.mark.asyncio
        async def test_async(live_emulator):
            cfg = live_emulator.config
            assert (cfg.think_ms, cfg.pace) == (9, 2.0)
            assert [f.code for f in cfg.faults] == [1011]
            assert live_emulator.behaviour_for("anything-at-all").name == "gemini-3.1-flash-live"
            assert live_emulator.base_url.startswith("https://127.0.0.1:")

        @pytest.mark.asyncio
        async def test_factory(live_emulator_factory):
            a = await live_emulator_factory(think_ms=1)
            b = await live_emulator_factory()
            assert (a.config.think_ms, b.config.think_ms) == (1, 7)
            assert a.port != b.port

        def test_thread(live_emulator_thread):
            assert live_emulator_thread.config.think_ms == 7
            assert live_emulator_thread.client_env()["SSL_CERT_FILE"] == live_emulator_thread.ca_file
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-o", "asyncio_mode=strict")
    result.assert_outcomes(passed=3)


def test_bad_settings_fail_the_test_not_the_session(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.gemini_live(think_mss=5)
        def test_typo(live_emulator_thread):
            pass

        def test_other():
            pass
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*think_mss*"])


def test_behaviour_shortcut_keeps_explicit_entries_first():
    config = emulator_config(behaviour="3.8", model_behaviours={"gemini-2.5*": "2.5"})
    assert list(config.model_behaviours.items()) == [("gemini-2.5*", "2.5"), ("*", "3.8")]
    with pytest.raises(ValueError):
        emulator_config(behaviour="9.9")

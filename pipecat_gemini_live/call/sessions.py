"""Building a call's sessions: the setup each one gets, its index, the fallback models.

The switcher asks for a session by setup (:class:`~..protocol.setup.SessionSpec`); this module
turns the spec, the service's settings and the model's profile into the connect config, numbers
the sessions of the call, and walks ``fallback_models`` when a model is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.genai import Client

from ..protocol.profiles import ModelProfile, bare_model_name
from ..protocol.profiles import trying
from ..protocol.setup import SessionSpec, build_connect_config
from .connection import EndHandler, LiveSession, MessageHandler, TaskFactory
from .live_options import LiveOptions


class SessionFactory:
    """Makes the sessions of one call.

    Args:
        client: The ``google.genai`` client sessions connect with (made on first use).
        settings: The service's current Live settings (``GeminiLiveLLMSettings``).
        profile_for_model: The profile that governs a model name.
        non_blocking: Names of functions registered with ``cancel_on_interruption=False``.
        set_model: Makes a model the call's model (a fallback) and returns the spec it calls for.
        options: The call's :class:`LiveOptions`.
        fallback_models: Models to try, in order, when one is refused as unknown.
        on_message: Awaited for each server message of any session.
        on_end: Awaited once when a session ends.
        create_task: Task factory (Pipecat's, so the tasks are tracked).
    """

    def __init__(
        self,
        *,
        client: Callable[[], Client],
        settings: Callable[[], Any],
        profile_for_model: Callable[[str], ModelProfile],
        non_blocking: Callable[[], set[str]],
        set_model: Callable[[str], SessionSpec],
        options: LiveOptions,
        fallback_models: list[str],
        on_message: MessageHandler,
        on_end: EndHandler,
        create_task: TaskFactory,
    ):
        self._client = client
        self._settings = settings
        self.profile_for_model = profile_for_model
        self._non_blocking = non_blocking
        self._set_model = set_model
        self._options = options
        self.fallback_models = fallback_models
        self._on_message = on_message
        self._on_end = on_end
        self._create_task = create_task
        self.count = 0
        self.fell_back = False

    def new_session(
        self, spec: SessionSpec, *, reason: str, resumption_handle: str | None = None, first: bool = False
    ) -> LiveSession:
        """A session for ``spec``, built but not opened (``first``: the call has had none yet)."""
        profile = self.profile_for_model(spec.model)
        config = build_connect_config(
            spec,
            self._settings(),
            profile,
            resumption_handle=resumption_handle,
            non_blocking_functions=self._non_blocking(),
            default_compression=self._options.context_compression,
            barge_in=self._options.barge_in,
        )
        if self.fell_back and first and reason == "start":
            reason = f"start (fallback to {spec.model})"
        session = LiveSession(
            client=self._client(),
            model=spec.model,
            config=config,
            index=self.count,
            reason=reason,
            on_message=self._on_message,
            on_end=self._on_end,
            create_task=self._create_task,
        )
        session.spec = spec
        session.trying = trying(profile)
        session.system_instruction = spec.system_instruction
        self.count += 1
        return session

    def next_fallback_model(self, refused: str) -> str | None:
        """The model to try after ``refused`` was refused, or None when none is left."""
        names = [bare_model_name(m) for m in self.fallback_models]
        current = bare_model_name(refused)
        position = names.index(current) + 1 if current in names else 0
        return self.fallback_models[position] if position < len(names) else None

    def fall_back_to(self, model: str) -> SessionSpec:
        """Make ``model`` the call's model; returns the setup it calls for."""
        self.fell_back = True
        return self._set_model(model)

"""What a call's sessions are set up from: the service's settings, its tools, its model profile.

The tools are the service's own (its constructor's ``tools``, or :meth:`SessionSetup.set_tools`)
unless the pipeline's context brings some (then the context's win, as in Pipecat's adapters).
The profile is the table's for the model named (:func:`~..protocol.profiles.profile_for`), or
one the application pinned, corrected for that model. :meth:`SessionSetup.spec` turns the
settings and tools into the :class:`~..protocol.setup.SessionSpec` a session is opened with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.services.google.gemini_live.llm import GeminiLiveLLMSettings
from pipecat.utils.types import is_given

from ..pipecat_private import normalize_tools
from ..protocol.profiles import ModelProfile, corrected, profile_for
from ..protocol.setup import SessionSpec
from ..service_settings import session_spec


def normalise_tools(tools: Any) -> Any:
    """Tools as the service keeps them: a list of ``FunctionSchema`` / direct functions becomes
    a ``ToolsSchema`` (as Pipecat's context would hold it); a ``ToolsSchema``, a list of Gemini
    tool dicts or None is kept as given."""
    if isinstance(tools, list) and tools and not all(isinstance(t, dict) for t in tools):
        return normalize_tools(tools)
    return tools


class SessionSetup:
    """The settings, tools and profile a call's sessions are built from.

    Args:
        settings: The service's settings (``GeminiLiveLLMSettings``), read at each use.
        tools: The constructor's tools (a ``ToolsSchema``, schemas / direct functions, or
            Gemini tool dicts).
        pinned_profile: A profile the application pinned, or None to match the model name.
        gemini_tools: Turns a ``ToolsSchema`` into Gemini's tool form (the Pipecat adapter's
            ``from_standard_tools``).
        context: The pipeline's LLM context, once there is one.
    """

    def __init__(
        self,
        settings: Callable[[], GeminiLiveLLMSettings],
        *,
        tools: Any,
        pinned_profile: ModelProfile | None,
        gemini_tools: Callable[[Any], Any],
        context: Callable[[], LLMContext | None],
    ):
        self.settings = settings
        self.pinned_profile = pinned_profile
        self.tools = normalise_tools(tools)
        self._gemini_tools = gemini_tools
        self._context = context

    def set_tools(self, tools: Any) -> None:
        """Replace the service's own tools."""
        self.tools = normalise_tools(tools)

    def profile_for_model(self, model: str) -> ModelProfile:
        """The profile that governs ``model`` (the pinned one, corrected for it, when given)."""
        if self.pinned_profile is not None:
            return corrected(self.pinned_profile, model)
        return profile_for(model)

    def spec(self) -> SessionSpec:
        """The session setup the settings and tools call for now."""
        tools = self.tools
        context = self._context()
        if context is not None and is_given(context.tools):
            tools = context.tools
        return session_spec(self.settings(), self._gemini_tools(tools) if tools else None)

    def use_model(self, model: str) -> SessionSpec:
        """Make ``model`` the call's model (a fallback); returns the setup it calls for."""
        self.settings().model = model
        return self.spec()

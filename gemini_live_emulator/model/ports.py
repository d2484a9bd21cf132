"""What the parts of an emulated session see of each other, as protocols.

The listener and the turn taker are driven by the session and call back into it; the session is
driven by the emulator's server. Each side names what it uses of the other here, so no module
imports the one that owns it (and the model never imports the server).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .. import wire
    from ..behaviour import ServerBehaviour
    from ..config import EmulatorConfig
    from ..faults import FaultPlan
    from ..records import SessionRecord
    from ..scenario import Scenario
    from .conversation import Conversation
    from .resumption import ResumptionStore


class SessionPort(Protocol):
    """The session as its turn taker and listener use it."""

    id: str
    cfg: EmulatorConfig
    record: SessionRecord
    conv: Conversation
    scenario: Scenario
    behaviour: ServerBehaviour | None
    setup: wire.Setup | None
    silenced: bool

    @property
    def recognising(self) -> bool:
        """Whether caller speech is being recognised (words, not only its length)."""
        ...

    async def send(self, msg: dict) -> None:
        """Send one server message."""
        ...

    def scaled(self, seconds: float) -> float:
        """An emulator duration under the configured time scale."""
        ...

    async def fault_phase(self, phase: str) -> None:
        """Fire a fault configured for this phase, if any."""
        ...

    def declared_tools(self) -> list[wire.FunctionDeclaration]:
        """The functions the setup declared."""
        ...

    def take_images(self) -> list[str]:
        """Images received since the last caller turn (taken once)."""
        ...

    def take_results(self, ids: Any) -> list[str]:
        """Summaries of the answered calls among ``ids`` (taken once)."""
        ...


class EmulatorPort(Protocol):
    """The emulator as a session uses it."""

    config: EmulatorConfig
    faults: FaultPlan
    scenario: Scenario
    resumption: ResumptionStore

    def admit(self, request: Any, raw_setup: str | bytes, record: SessionRecord) -> str | bytes:
        """Judge a connection's credential once its first message is in; returns the setup
        message to serve (constrained by an ephemeral token's limits)."""
        ...

    def behaviour_for(self, model: str) -> ServerBehaviour | None:
        """The server rules for ``model`` (None: a model the server does not know)."""
        ...

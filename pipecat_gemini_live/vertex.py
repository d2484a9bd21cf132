"""``GeminiLiveVertexLLMService``: the same Live service, reached through Vertex AI.

A drop-in for Pipecat's ``pipecat.services.google.gemini_live.vertex.llm.GeminiLiveVertexLLMService``
(same ``credentials`` / ``credentials_path`` / ``location`` / ``project_id`` arguments). The
official SDK does the Vertex specifics: the ``LlmBidiService`` WebSocket path, a bearer token
from the credentials (refreshed by google-auth), and the model as
``projects/P/locations/L/publishers/google/models/M``. Everything else (hand-overs, resilience,
tools) is the Gemini API service's.

Vertex's Live endpoint does not take ``NON_BLOCKING`` function declarations or response
``scheduling`` (Pipecat's Vertex service turns them off for the same reason), so every profile
is read with ``non_blocking_tools=False`` here.
"""

from __future__ import annotations

import json
from typing import Any

from google.genai import Client

from .call.clients import shared_client
from .protocol.profiles import ModelProfile
from .service import GeminiLiveLLMService

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


def vertex_credentials(credentials: Any = None, credentials_path: str | None = None):
    """Credentials for Vertex AI, from the first of these that is given.

    Args:
        credentials: A service account's JSON (a string), or a ready
            ``google.auth.credentials.Credentials`` object.
        credentials_path: Path to a service account JSON file.

    Returns:
        A ``google.auth.credentials.Credentials``; with neither argument, Application Default
        Credentials.

    Raises:
        ValueError: When the JSON does not parse or no credentials can be found.
    """
    from google.auth import default
    from google.auth.exceptions import DefaultCredentialsError
    from google.oauth2 import service_account

    if credentials is not None and not isinstance(credentials, str):
        return credentials
    if credentials:
        try:
            info = json.loads(credentials)
        except ValueError as e:
            raise ValueError(f"credentials is not a service account JSON document: {e}") from None
        return service_account.Credentials.from_service_account_info(info, scopes=[CLOUD_PLATFORM_SCOPE])
    if credentials_path:
        return service_account.Credentials.from_service_account_file(credentials_path, scopes=[CLOUD_PLATFORM_SCOPE])
    try:
        creds, _ = default(scopes=[CLOUD_PLATFORM_SCOPE])
    except DefaultCredentialsError as e:
        raise ValueError(
            "no Vertex AI credentials: pass credentials= or credentials_path=, or set up "
            f"Application Default Credentials ({e})"
        ) from None
    return creds


class GeminiLiveVertexLLMService(GeminiLiveLLMService):
    """A Gemini Live service on Vertex AI (see the module docstring).

    Args:
        credentials: A service account's JSON, or a ``google.auth`` credentials object.
        credentials_path: Path to a service account JSON file.
        location: Google Cloud region of the endpoint (``"us-east4"``).
        project_id: Google Cloud project ID.
        **kwargs: As for :class:`~.service.GeminiLiveLLMService` (``model``, ``settings``,
            ``http_options``, ``options``...); no ``api_key``.

    Raises:
        ValueError: When no credentials can be found.
    """

    def __init__(
        self,
        *,
        credentials: Any = None,
        credentials_path: str | None = None,
        location: str,
        project_id: str,
        **kwargs,
    ):
        self._vertex_credentials = vertex_credentials(credentials, credentials_path)
        self._project_id = project_id
        self._location = location
        super().__init__(api_key=None, **kwargs)

    def _client_for_sessions(self) -> Client:
        if self._client is None:
            self._client = shared_client(
                vertexai=True,
                credentials=self._vertex_credentials,
                project=self._project_id,
                location=self._location,
                http_options=self._http_options,
            )
        return self._client

    def profile_for_model(self, model: str) -> ModelProfile:
        """The model's profile, without ``NON_BLOCKING`` tools (Vertex refuses them)."""
        return super().profile_for_model(model).with_overrides(non_blocking_tools=False)

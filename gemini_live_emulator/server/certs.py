"""A throwaway local certificate authority for the emulator's TLS.

With an API key the google-genai SDK always dials ``wss://`` (it rewrites the scheme of
``base_url``), so the emulator must serve TLS, and the client must trust it through public
options only: an ``ssl`` context in ``HttpOptions.async_client_args``, or ``SSL_CERT_FILE``.
``trustme`` makes the CA and a leaf certificate for 127.0.0.1 / localhost / ::1.
"""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path

import trustme


class LocalCA:
    """A CA made for one emulator run, with a server certificate for loopback names.

    Args:
        directory: Where to write ``ca.pem`` (the file a client trusts). A temporary directory
            is made (and kept for the life of this object) when omitted.
    """

    def __init__(self, directory: str | Path | None = None):
        self._ca = trustme.CA(organization_name="pipecat-gemini-live emulator")
        self._leaf = self._ca.issue_cert("127.0.0.1", "localhost", "::1")
        if directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="gemini-live-emulator-")
            directory = self._tmp.name
        else:
            self._tmp = None
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ca_file = self.directory / "ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_file))
        self._client_context: ssl.SSLContext | None = None

    def server_context(self) -> ssl.SSLContext:
        """An SSL context for the server side, presenting the loopback certificate."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._leaf.configure_cert(ctx)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """An SSL context for clients that trusts only this CA (built once, then shared).

        Building a context costs milliseconds; a call that opens several sessions should not
        pay for it each time.
        """
        if self._client_context is None:
            ctx = ssl.create_default_context(cafile=str(self.ca_file))
            self._client_context = ctx
        return self._client_context

    def cleanup(self) -> None:
        """Remove the temporary directory holding ``ca.pem`` (when this object made it)."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

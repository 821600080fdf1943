"""The server half of the local HTTP fakes (Graph, Mattermost): one threaded server on 127.0.0.1."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class KeepAliveHandler(BaseHTTPRequestHandler):
    """Keep-alive like the real services (every response has a Content-Length), no request log;
    subclasses answer in ``_serve(method)``."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stalls

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        raise NotImplementedError


class LoopbackServer:
    """Mixin: serve ``self`` with ``_handler`` (which finds the fake as ``self.server.fake``)."""

    _handler: type[BaseHTTPRequestHandler]
    _name: str = "fake"
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"the {self._name} server is not running")
        return self._server.server_port

    def start(self, port: int = 0) -> Self:
        server = ThreadingHTTPServer(("127.0.0.1", port), self._handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.02,), name=self._name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

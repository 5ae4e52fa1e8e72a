"""A document server on loopback for `source_url` tests: serves files a test puts, and the hostile
answers a source can give (redirects anywhere, 404/403/503, a body that never ends, a 10 GB
declared length, a drip). It listens on 127.0.0.2, so an allow-list of that one address lets the
workers reach it while 127.0.0.1 stays refused."""

import functools
import gzip
import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.support.webhook_receiver import serving

# The server's address, and the allow-list setting that lets the workers reach it (and nothing
# else that is not public).
SOURCE_HOST = "127.0.0.2"
SOURCE_ENV = {
    "DOCQUEUE_SOURCE_ALLOW_HTTP": "true",
    "DOCQUEUE_SOURCE_ALLOWED_NETWORKS": f"{SOURCE_HOST}/32",
}
# Bytes an endless body sends per write, and how long it may run before the server gives up on
# its own (bounded, even if a fetcher never stopped reading).
ENDLESS_PIECE = 64 * 1024
ENDLESS_MAX_S = 120.0


class SourceServer:
    """Serves `files` at their paths; `hits` counts GETs per path."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.redirects: dict[str, tuple[int, str]] = {}
        self.statuses: dict[str, list[int]] = {}
        self.hits: dict[str, int] = {}
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer((SOURCE_HOST, 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def url(self, path: str) -> str:
        return f"http://{SOURCE_HOST}:{self.port}{path}"

    def put(self, path: str, data: bytes) -> str:
        self.files[path] = data
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        self.redirects[path] = (status, location)
        return self.url(path)

    def answer(self, path: str, *statuses: int) -> str:
        """Answer these statuses in turn (the last one repeats), then the file if one is put."""
        self.statuses[path] = list(statuses)
        return self.url(path)

    def count(self, path: str) -> int:
        with self.lock:
            return self.hits.get(path, 0)

    def _next_status(self, path: str) -> int | None:
        with self.lock:
            script = self.statuses.get(path)
            if not script:
                return None
            return script.pop(0) if len(script) > 1 else script[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                with server.lock:
                    server.hits[path] = server.hits.get(path, 0) + 1
                if path in server.redirects:
                    code, location = server.redirects[path]
                    self._head(code, 0, {"Location": location})
                    return
                status = server._next_status(path)
                if status is not None and status != 200:
                    self._head(status, 0)
                    return
                if path == "/endless":
                    self._endless(declared=None)
                elif path == "/ten-gigabytes":
                    self._endless(declared=10 * 1024**3)
                elif path == "/drip":
                    self._drip()
                elif path == "/gzip-bomb":
                    self._gzip_bomb()
                elif path in server.files:
                    body = server.files[path]
                    self._head(200, len(body))
                    self.wfile.write(body)
                else:
                    self._head(404, 0)

            def _head(self, status: int, length: int | None, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if length is not None:
                    self.send_header("Content-Length", str(length))
                self.end_headers()

            def _endless(self, declared: int | None) -> None:
                """Zeros until the fetcher hangs up (or ENDLESS_MAX_S passed)."""
                self.close_connection = True
                self._head(200, declared, {"Content-Type": "application/pdf"})
                piece = b"%PDF-1.7\n" + b"0" * (ENDLESS_PIECE - 9)
                deadline = time.monotonic() + ENDLESS_MAX_S
                try:
                    while time.monotonic() < deadline:
                        self.wfile.write(piece)
                        piece = b"0" * ENDLESS_PIECE
                except OSError:
                    return

            def _gzip_bomb(self) -> None:
                """About 100 KB on the wire, sent as gzip though identity was asked for, that
                inflates to 100 MB of a PDF header and zeros."""
                body = gzip_bomb()
                self._head(200, len(body), {"Content-Encoding": "gzip", "Content-Type": "application/pdf"})
                self.wfile.write(body)

            def _drip(self) -> None:
                """A byte every 0.2 s: never silent long enough for a read timeout, never done."""
                self.close_connection = True
                self._head(200, None)
                deadline = time.monotonic() + ENDLESS_MAX_S
                try:
                    self.wfile.write(b"%PDF-1.7\n")
                    while time.monotonic() < deadline:
                        self.wfile.write(b"0")
                        self.wfile.flush()
                        time.sleep(0.2)
                except OSError:
                    return

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@functools.cache
def gzip_bomb() -> bytes:
    """Made once: 100 MB of a PDF header and zeros, gzipped to about 100 KB."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as packed:
        packed.write(b"%PDF-1.7\n")
        for _ in range(100):
            packed.write(bytes(1024 * 1024))
    return out.getvalue()


@contextmanager
def running_source_server() -> Iterator[SourceServer]:
    server = SourceServer()
    with serving(server.server):
        yield server

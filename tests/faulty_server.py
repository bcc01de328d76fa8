"""A source that misbehaves at the transport level, served on 127.0.0.1: every GET gets the
same fault. Its threads are daemons and its slow answers wake up when it stops, so it stops by
itself with the test.

- `drip`: a 200 that promises 1000 bytes and sends one every `interval` seconds;
- `truncated`: a 200 whose body is shorter than its Content-Length, then the connection closes;
- `redirect`: a 302 to the same path on another host (`localhost` for `127.0.0.1`);
- `flaky`: 503 for the first `failures` requests, then `body` (a 200).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FaultyServer:
    def __init__(self, fault: str, interval: float = 20.0, failures: int = 2, body: bytes = b""):
        self.fault, self.interval, self.failures, self.body = fault, interval, failures, body
        self.requests = 0
        self.stopping = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/whl"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultyServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        source = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                source.requests += 1
                getattr(self, source.fault)()

            def drip(self):
                self._head(200, 1000)
                for _ in range(1000):
                    if source.stopping.wait(source.interval):
                        return
                    self.wfile.write(b"<")
                    self.wfile.flush()

            def truncated(self):
                self._head(200, 1000)
                self.wfile.write(b"<html><body>")
                self.close_connection = True

            def redirect(self):
                self.send_response(302)
                self.send_header("Location", f"http://localhost:{source.port}{self.path}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def flaky(self):
                if source.requests <= source.failures:
                    self._head(503, 4)
                    self.wfile.write(b"busy")
                    return
                self._head(200, len(source.body))
                self.wfile.write(source.body)

            def _head(self, status: int, length: int):
                self.send_response(status)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(length))
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler

"""The one HTTP server of the tests' stand-in indexes, on 127.0.0.1: the PyTorch index and
the hostile default index (tests/pytorch_index.py), and PyPI (tests/pypi_stand_in.py).

A `Content` answers a request's path with a `Response`; the server does the HTTP around it,
the same for every index:

- the faults a test plants (`Content.faults`: path -> the `Response` served instead);
- `Range` on the responses that allow it (`Response.ranges`, the files): one `bytes=a-b`,
  `bytes=a-` or `bytes=-n` range is answered 206 with `Content-Range`, a range past the end
  416; it is never advertised (`Accept-Ranges`), so resolvers download whole files;
- HEAD as GET without the body;
- the transport faults a `Response` can carry: a Content-Length longer than the body (a
  truncated body), none at all (`unsized`: the body ends when the connection closes, so only
  reading it tells its size), a body sent one byte every `drip` seconds (woken when the server
  stops);
- a log of every request (`Content.requests`: path, Range header, status) and of the bytes
  sent per path (`Content.served`), so a test can tell a range read from a download.

`Replies` answers every path with a list of responses in turn: a source that misbehaves
everywhere (a 503 then a 200, a drip, a redirect to another host).

It runs on daemon threads: it stops with the test process if a test does not stop it.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple
from urllib.parse import unquote


@dataclass(frozen=True)
class Response:
    """What the server sends for a path: status, body, content type; `ranges`: the body is a
    file that honours Range; `length`: the Content-Length to declare instead of the body's (a
    truncated body); `unsized`: no Content-Length; `drip`: seconds to wait before each byte of
    the body (a trickle)."""

    status: int
    body: bytes = b""
    content_type: str = "text/html"
    ranges: bool = False
    headers: tuple[tuple[str, str], ...] = ()  # more headers (`WWW-Authenticate`, `Location`)
    length: int | None = None
    unsized: bool = False
    drip: float = 0.0


FORBIDDEN = Response(403, b"Forbidden", "text/plain")
NOT_FOUND = Response(404, b"Not Found", "text/plain")
TRUNCATED = Response(200, b"<html><body>", length=1000)  # then the connection closes


def redirect_elsewhere(url: str) -> Response:
    """A 302 to `url` on another host: `localhost` for `127.0.0.1`."""
    return Response(302, headers=(("Location", url.replace("127.0.0.1", "localhost")),))


class Request(NamedTuple):
    """One request as the server answered it: the path (unquoted, no query), the Range header,
    the status."""

    path: str
    range: str | None
    status: int


@dataclass(kw_only=True)
class Content:
    """What a stand-in serves (subclasses: `answer`, `url_path`), the faults planted in it, and
    what it was asked."""

    faults: dict[str, Response] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    served: Counter[str] = field(default_factory=Counter)

    @property
    def url_path(self) -> str:
        """The path of the index's URL (`/whl`, `/simple/`)."""
        raise NotImplementedError

    def answer(self, path: str, headers: Message) -> Response:
        """The response to a GET of `path` (unquoted, without the query)."""
        raise NotImplementedError


@dataclass(kw_only=True)
class Replies(Content):
    """Answers every path with `replies` in turn, the last one for good (its URL: `/whl`)."""

    replies: list[Response] = field(default_factory=list)

    @property
    def url_path(self) -> str:
        return "/whl"

    def answer(self, path: str, headers: Message) -> Response:
        return self.replies[min(len(self.requests), len(self.replies) - 1)]


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) of a single `bytes=` range of a `size`-byte body; None for no (or an
    unsupported) range."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header.removeprefix("bytes=").partition("-")
    if not first:
        return max(size - int(last), 0), size - 1
    return int(first), min(int(last), size - 1) if last else size - 1


def ranged(response: Response, header: str | None) -> tuple[Response, dict[str, str]]:
    """The response to send for a Range header, with its extra headers."""
    size = len(response.body)
    span = byte_range(header, size) if response.ranges and response.status == 200 else None
    if span is None:
        return response, {}
    first, last = span
    if first >= size or first > last:
        return Response(416, b"", "text/plain"), {"Content-Range": f"bytes */{size}"}
    part = Response(206, response.body[first : last + 1], response.content_type)
    return part, {"Content-Range": f"bytes {first}-{last}/{size}"}


def _handler(content: Content, stopping: threading.Event) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            self._answer(send_body=True)

        def do_HEAD(self):  # noqa: N802
            self._answer(send_body=False)

        def _answer(self, send_body: bool) -> None:
            path = unquote(self.path.split("?")[0])
            asked = self.headers.get("Range")
            planned = content.faults.get(path) or content.answer(path, self.headers)
            response, headers = ranged(planned, asked)
            content.requests.append(Request(path, asked, response.status))
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            length = len(response.body) if response.length is None else response.length
            if not response.unsized:  # else HTTP/1.0: the body ends when the connection closes
                self.send_header("Content-Length", str(length))
            for key, value in [*headers.items(), *response.headers]:
                self.send_header(key, value)
            self.end_headers()
            if send_body:
                content.served[path] += len(response.body)  # before the client can look
                if not response.drip:
                    self.wfile.write(response.body)
                    return
                for byte in response.body:  # one at a time; the server's stop wakes the wait
                    if stopping.wait(response.drip):
                        return
                    self.wfile.write(bytes([byte]))

        def log_message(self, *args):
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's listen backlog is 5: clients reading in parallel (uv, the refresh's 8
    # readers) overflow it, and each dropped connection waits ~1 s for the SYN retry.
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # A resolver may drop a download once it has read what it needs: not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Server6(_Server):
    address_family = socket.AF_INET6


class StandInServer:
    """`with StandInServer(content) as index:` serves `content` on 127.0.0.1 (or on IPv6's
    loopback, `host="::1"`); `index.url` is the index's URL, `index.content` what it serves
    and was asked."""

    def __init__(self, content: Content, host: str = "127.0.0.1"):
        self.content = content
        self.stopping = threading.Event()  # wakes the drips
        server = _Server6 if ":" in host else _Server
        self.server = server((host, 0), _handler(content, self.stopping))
        netloc = f"[{host}]" if ":" in host else host
        self.url = f"http://{netloc}:{self.server.server_port}{content.url_path}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> StandInServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

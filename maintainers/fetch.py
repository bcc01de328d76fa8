"""HTTP GET for the maintainers' tools: one overall deadline, retries with backoff, no surprises.

Maintainers' tooling (`maintainers/`): never loaded by a render.

`get(url)` reads one response with httpx. What it guarantees:
- a deadline: `with deadline(seconds):` bounds every request made inside it, all together: no
  request starts after it, a body still arriving when it passes is cut, and each wait
  (connecting, each read) lasts at most the time left when its request began and `STALL_S`.
  So a run ends by the deadline plus, at worst, one such wait per request under way (httpx
  has no overall timeout for a sync request, and DNS lookups have none); outside a `deadline`,
  each request has `DEFAULT_DEADLINE_S`;
- retries: a transient fault (HTTP 429 and 5xx, a refused or reset connection, a timeout, a
  body shorter than its Content-Length) is retried `ATTEMPTS` times in all, with a backoff
  (`BACKOFF_S`, doubling) that never runs past the deadline;
- redirects are followed on the same scheme, host and port only: a redirect to another host is
  refused (a mirror that hands its reader to someone else is named, never followed silently);
- every fault is a `FetchError` (`NotFound` for 403/404, which S3-backed indexes answer for a
  missing page) whose message names the URL and what went wrong; never an httpx traceback.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urljoin, urlsplit

import httpx

DEFAULT_DEADLINE_S = 600.0
CONNECT_S = 10.0  # a connection not made in this long is a (transient) fault
STALL_S = 30.0  # a server that sends no byte for this long is a (transient) fault
ATTEMPTS = 3
BACKOFF_S = 0.5
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 5
READERS = 8  # requests in flight at once (`in_parallel`)
T = TypeVar("T")
R = TypeVar("R")


class FetchError(Exception):
    """A response could not be read; the message says which URL and why."""


class NotFound(FetchError):
    """The server has no such page (HTTP 404, or 403 as S3-backed indexes answer)."""


class _Transient(FetchError):
    """A fault worth another try."""


@dataclass(frozen=True)
class Response:
    status: int
    url: str  # after redirects: the base for relative links
    headers: httpx.Headers
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()


@dataclass
class _Run:
    ends: float  # time.monotonic() when the deadline passes
    seconds: float
    client: httpx.Client

    def left(self, url: str) -> float:
        """Seconds left; a FetchError when none are."""
        left = self.ends - time.monotonic()
        if left <= 0:
            raise FetchError(f"the {self.seconds:g} s deadline passed before {url} was read")
        return left


_RUN: ContextVar[_Run | None] = ContextVar("fetch_run", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every `get` inside shares one deadline (and one connection pool)."""
    with httpx.Client(follow_redirects=False) as client:
        token = _RUN.set(_Run(time.monotonic() + seconds, seconds, client))
        try:
            yield
        finally:
            _RUN.reset(token)


def in_parallel(function: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """`function` over `items` on `READERS` threads, within the caller's deadline (its
    connection pool shared); the results in order, the first exception raised."""
    parent = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        return list(pool.map(lambda item: parent.copy().run(function, item), items))


def get(url: str, headers: Mapping[str, str] | None = None) -> Response:
    """GET `url` within the current deadline, retrying transient faults with a backoff.
    Raises FetchError (NotFound for 403/404)."""
    run = _RUN.get()
    if run is None:
        with deadline(DEFAULT_DEADLINE_S):
            return get(url, headers)
    pause = BACKOFF_S
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _follow(run, url, dict(headers or {}))
        except _Transient as error:
            if attempt == ATTEMPTS or run.left(url) <= pause:
                raise FetchError(f"{error} ({attempt} tries)") from error
            time.sleep(pause)
            pause *= 2
    raise AssertionError("unreachable")


def _follow(run: _Run, url: str, headers: dict[str, str]) -> Response:
    """One try: the response, following same-host redirects."""
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        response = _once(run, current, headers)
        if response.status not in (301, 302, 303, 307, 308):
            return response
        target = urljoin(current, response.headers.get("Location", ""))
        if _origin(target) != _origin(current):
            raise FetchError(
                f"{current} redirects to another host ({_origin(target)}): refused; pass that "
                "URL itself if it is the index you mean"
            )
        current = target
    raise FetchError(f"{url} redirects more than {MAX_REDIRECTS} times")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _once(run: _Run, url: str, headers: dict[str, str]) -> Response:
    left = run.left(url)
    timeout = httpx.Timeout(min(STALL_S, left), connect=min(CONNECT_S, left))
    try:
        with run.client.stream("GET", url, headers=headers, timeout=timeout) as response:
            _check_status(url, response)
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if time.monotonic() > run.ends:
                    raise FetchError(
                        f"{url} sent {len(body)} bytes in the {run.seconds:g} s deadline and "
                        "was still sending: a stalled server or mirror?"
                    )
            return Response(response.status_code, str(response.url), response.headers, bytes(body))
    except httpx.TimeoutException as error:
        if time.monotonic() >= run.ends:
            raise FetchError(f"{url}: no answer in the {run.seconds:g} s deadline") from error
        raise _Transient(f"{url}: timed out ({type(error).__name__})") from error
    except httpx.RemoteProtocolError as error:
        raise _Transient(f"{url} answered a broken or truncated response: {error}") from error
    except httpx.TransportError as error:
        raise _Transient(f"cannot reach {url}: {error}") from error


def _check_status(url: str, response: httpx.Response) -> None:
    status = response.status_code
    if status in TRANSIENT_STATUS:
        raise _Transient(f"{url} answered HTTP {status} {response.reason_phrase}")
    if status in (403, 404):
        raise NotFound(f"{url} answered HTTP {status} {response.reason_phrase}")
    if status >= 400:
        raise FetchError(f"{url} answered HTTP {status} {response.reason_phrase}")

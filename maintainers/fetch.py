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
- a size cap: a body over `MAX_BODY_BYTES` (or the cap the `deadline` sets) is refused as soon
  as its Content-Length says so, or else as soon as that many bytes have arrived: a `FetchError`
  naming the URL, never a run that holds (and then parses) whatever a mirror sends;
- redirects are followed on the same scheme, host and port only: a redirect to another host is
  refused (a mirror that hands its reader to someone else is named, never followed silently);
- every fault is a `FetchError` (`NotFound` for 403/404, which S3-backed indexes answer for a
  missing page) whose message names the URL and what went wrong; never an httpx traceback.
"""

from __future__ import annotations

import contextvars
import math
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
# The most one response may hold. The biggest pages a refresh reads are a few MB: PyPI's torch
# page lists 987 files in 0.42 MB (PEP 691 JSON; 0.32 MB as HTML; read 2026-12-07), and the
# PyTorch index writes one ~410-byte line per wheel (pytorch/test-infra
# s3_management/manage.py, `to_simple_package_html`: href with #sha256, data-dist-info-metadata
# and data-core-metadata digests), so its per-variant torch pages (hundreds of wheels) stay under
# 1 MB, and a page of every torch wheel it serves is, by our estimate (~110 wheels per release
# for ~45 releases), about 2 MB. 16 MB leaves room for 40,000 wheels on one page; the whole nightly
# tree held 128,281 files of every package together (pytorch/test-infra#5673, 2024-09-16), a
# tree no page of a release index lists. A body over it is refused (`deadline(max_bytes=...)`,
# the refresh's `--max-page-mb`, to raise it for a mirror that really serves more).
MAX_BODY_BYTES = 16 * 1024 * 1024
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
    max_bytes: int = MAX_BODY_BYTES

    def left(self, url: str) -> float:
        """Seconds left; a FetchError when none are."""
        return self.remaining(f"before {url} was read")

    def remaining(self, doing: str) -> float:
        """Seconds left; a FetchError (the deadline passed `doing`) when none are."""
        left = self.ends - time.monotonic()
        if left <= 0:
            raise FetchError(f"the {self.seconds:g} s deadline passed {doing}")
        return left


_RUN: ContextVar[_Run | None] = ContextVar("fetch_run", default=None)


@contextmanager
def deadline(seconds: float, max_bytes: int = MAX_BODY_BYTES) -> Iterator[None]:
    """Every `get` inside shares one deadline (and one connection pool); each response may hold
    at most `max_bytes`. The work between reads checks the same deadline (`in_time`)."""
    with httpx.Client(follow_redirects=False) as client:
        token = _RUN.set(_Run(time.monotonic() + seconds, seconds, client, max_bytes))
        try:
            yield
        finally:
            _RUN.reset(token)


def in_time(doing: str) -> None:
    """For work between reads (parsing a page, going through its rows): a FetchError when the
    current deadline has passed, saying it passed `doing` ("while parsing URL"). Outside a
    `deadline`, nothing."""
    run = _RUN.get()
    if run is not None:
        run.remaining(doing)


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
            _check_declared_size(run, url, response)
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > run.max_bytes:
                    raise FetchError(_oversized(run, url, f"sent more than {run.max_bytes} bytes"))
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


def _check_declared_size(run: _Run, url: str, response: httpx.Response) -> None:
    """A Content-Length over the cap: refused before a byte of the body is read."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > run.max_bytes:
        raise FetchError(_oversized(run, url, f"declares {declared} bytes", int(declared)))


def _oversized(run: _Run, url: str, what: str, size: int = 0) -> str:
    """Why a body is refused, and a cap that would hold it (twice this one, or its size)."""
    cap = run.max_bytes / 2**20
    enough = max(2 * cap, math.ceil(size / 2**20))
    return (
        f"{url} {what}, over the {cap:g} MB cap on one response: not read. No index page is "
        f"that large; if this one really is, raise the cap (--max-page-mb {enough:g})"
    )


def _check_status(url: str, response: httpx.Response) -> None:
    status = response.status_code
    if status in TRANSIENT_STATUS:
        raise _Transient(f"{url} answered HTTP {status} {response.reason_phrase}")
    if status in (403, 404):
        raise NotFound(f"{url} answered HTTP {status} {response.reason_phrase}")
    if status >= 400:
        raise FetchError(f"{url} answered HTTP {status} {response.reason_phrase}")

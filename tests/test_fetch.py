"""`maintainers.fetch` reads a response or says why not: retries what may pass (503, a reset,
a truncated body) with a backoff, refuses a redirect to another host, and never waits past the
deadline of the run."""

import time

import pytest

from maintainers import fetch
from tests.stand_in_server import TRUNCATED, Replies, Response, StandInServer, redirect_elsewhere

BUSY = Response(503, b"busy", "text/plain")


def test_a_transient_503_is_retried_with_a_backoff_until_it_answers(monkeypatch):
    pauses: list[float] = []
    monkeypatch.setattr(fetch.time, "sleep", pauses.append)
    source = Replies(replies=[BUSY, BUSY, Response(200, b"<html></html>")])
    with StandInServer(source) as server:
        response = fetch.get(f"{server.url}/")
    assert (response.status, response.body, len(source.requests)) == (200, b"<html></html>", 3)
    assert pauses == [fetch.BACKOFF_S, 2 * fetch.BACKOFF_S]  # doubling


def test_a_source_that_keeps_failing_is_named_with_the_tries():
    source = Replies(replies=[BUSY])
    with (
        StandInServer(source) as server,
        pytest.raises(fetch.FetchError, match=r"answered HTTP 503 .*\(3 tries\)"),
    ):
        fetch.get(f"{server.url}/")
    assert len(source.requests) == fetch.ATTEMPTS


def test_a_body_shorter_than_its_content_length_is_an_error_not_a_traceback():
    with (
        StandInServer(Replies(replies=[TRUNCATED])) as server,
        pytest.raises(fetch.FetchError, match="truncated"),
    ):
        fetch.get(f"{server.url}/")


def test_a_redirect_to_another_host_is_refused():
    source = Replies()
    with (
        StandInServer(source) as server,
        pytest.raises(fetch.FetchError, match=r"redirects to another host \(http://localhost:"),
    ):
        source.replies.append(redirect_elsewhere(f"{server.url}/cpu/"))
        fetch.get(f"{server.url}/cpu/")
    assert len(source.requests) == 1


def test_a_trickling_server_ends_at_the_deadline():
    started = time.monotonic()
    with (
        StandInServer(Replies(replies=[Response(200, b"<" * 1000, drip=0.2)])) as server,
        fetch.deadline(1.5),
        pytest.raises(fetch.FetchError, match=r"still sending|deadline"),
    ):
        fetch.get(f"{server.url}/")
    assert time.monotonic() - started < 1.5 + 1.0  # its 1000 bytes would take 200 s

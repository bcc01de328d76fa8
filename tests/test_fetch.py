"""`maintainers.fetch` reads a response or says why not: retries what may pass (503, a reset,
a truncated body) with a backoff, refuses a redirect to another host and a body over its cap,
and never waits past the deadline of the run."""

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
    """Its 1000 bytes would take 200 s; the read ends at the 1.5 s deadline instead. The bound
    checked is the trickle's, not the deadline's: a busy machine may be late by seconds."""
    started = time.monotonic()
    with (
        StandInServer(Replies(replies=[Response(200, b"<" * 1000, drip=0.2)])) as server,
        fetch.deadline(1.5),
        pytest.raises(fetch.FetchError, match=r"still sending|deadline"),
    ):
        fetch.get(f"{server.url}/")
    assert time.monotonic() - started < 100  # half of what the whole trickle takes


CAP = 64 * 1024  # the tests' cap on a response, in place of fetch.MAX_BODY_BYTES


def test_a_body_declared_over_the_cap_is_refused_before_it_is_read():
    source = Replies(replies=[Response(200, b"<" * (CAP + 1))])
    with (
        StandInServer(source) as server,
        fetch.deadline(60, max_bytes=CAP),
        pytest.raises(fetch.FetchError) as refused,
    ):
        fetch.get(f"{server.url}/")
    assert str(refused.value).startswith(f"{server.url}/ declares {CAP + 1} bytes, over the")
    assert "--max-page-mb" in str(refused.value)  # how to read it if it is real
    assert len(source.requests) == 1  # not retried


def test_a_body_that_declares_no_size_is_cut_at_the_cap():
    with (
        StandInServer(Replies(replies=[Response(200, b"<" * 4 * CAP, unsized=True)])) as server,
        fetch.deadline(60, max_bytes=CAP),
        pytest.raises(fetch.FetchError, match=f"sent more than {CAP} bytes, over the"),
    ):
        fetch.get(f"{server.url}/")


def test_a_body_at_the_cap_is_read():
    body = b"<" * CAP
    source = Replies(replies=[Response(200, body, unsized=True)])
    with StandInServer(source) as server, fetch.deadline(60, max_bytes=CAP):
        assert fetch.get(f"{server.url}/").body == body

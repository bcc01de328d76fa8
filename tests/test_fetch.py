"""`maintainers.fetch` reads a response or says why not: retries what may pass (503, a reset,
a truncated body) with a backoff, refuses a redirect to another host, and never waits past the
deadline of the run."""

import time

import pytest

from maintainers import fetch
from tests.faulty_server import FaultyServer


def test_a_transient_503_is_retried_with_a_backoff_until_it_answers():
    with FaultyServer("flaky", failures=2, body=b"<html></html>") as server:
        response = fetch.get(f"{server.url}/")
    assert (response.status, response.body, server.requests) == (200, b"<html></html>", 3)


def test_a_source_that_keeps_failing_is_named_with_the_tries():
    with (
        FaultyServer("flaky", failures=99) as server,
        pytest.raises(fetch.FetchError, match=r"answered HTTP 503 .*\(3 tries\)"),
    ):
        fetch.get(f"{server.url}/")
    assert server.requests == fetch.ATTEMPTS


def test_a_body_shorter_than_its_content_length_is_an_error_not_a_traceback():
    with (
        FaultyServer("truncated") as server,
        pytest.raises(fetch.FetchError, match="truncated"),
    ):
        fetch.get(f"{server.url}/")


def test_a_redirect_to_another_host_is_refused():
    with (
        FaultyServer("redirect") as server,
        pytest.raises(fetch.FetchError, match=r"redirects to another host \(http://localhost:"),
    ):
        fetch.get(f"{server.url}/cpu/")
    assert server.requests == 1


def test_a_trickling_server_ends_at_the_deadline():
    started = time.monotonic()
    with (
        FaultyServer("drip", interval=0.2) as server,
        fetch.deadline(1.5),
        pytest.raises(fetch.FetchError, match=r"still sending|deadline"),
    ):
        fetch.get(f"{server.url}/")
    assert time.monotonic() - started < 1.5 + 1.0  # its 1000 bytes would take 200 s

"""The `pytorch_index_url` answer: what a valid index URL is, for the project's manager.

Read on the raw answer, as Copier passes it (part of the render-time model: Copier loads it
through `copier_hooks`); a refusal says the fix first, briefly.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

from extensions.answers import control_characters
from extensions.index_model import VARIANT_PLACEHOLDER, Variant, index_url

CREDENTIAL_HELP = (
    "the project's README gives the command for each of its indexes (uv: "
    "UV_INDEX_<NAME>_USERNAME / _PASSWORD, NAME the index's name in capitals with _ for - and .; "
    "poetry: poetry config http-basic.<name> USER PASSWORD; pip: ~/.netrc)"
)


LOOPBACK_NAMES = ("localhost",)  # besides 127.0.0.0/8 and ::1 (`ipaddress` is_loopback)
# A DNS host name (RFC 1123): dot-separated labels of letters, digits and inner hyphens.
HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", flags=re.IGNORECASE)
# What a URL may hold besides its host: it is written unquoted into shell lines (CI, README)
# and requirements.txt.
URL_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/%+,=@]*")


def index_url_error(url: str, package_manager: str = "") -> str:
    """Why `url` cannot be the `pytorch_index_url` answer, or "". Two forms (both rendered by
    `index_model.index_url`): a base URL the variant is appended to (`https://mirror.example/whl`),
    or a template with `{variant}` where the variant goes
    (`https://nexus.example/repository/pytorch-{variant}/simple`). Checked as a URL is (the
    host a DNS name, an IPv4 address or a bracketed IPv6 one, a port 1-65535), on the raw
    answer (a newline or space would end the URL early in requirements.txt); `http://` only
    on this machine (pip ignores an http index on another host, and credentials would travel
    in clear); poetry's lock takes no IPv6 address (`_manager_error`)."""
    url = url or ""
    if error := _url_text_error(url):
        return error
    try:
        parts = urlsplit(index_url(url, "cpu"))  # as the project's files will hold it
    except ValueError:  # a bracketed host that is no IP address
        return f"Give an IPv6 host in brackets, e.g. https://[::1]:8443/whl: '{url}' has none."
    return (
        _url_parts_error(url, parts)
        or _variant_segment_error(url)
        or _manager_error(parts, package_manager)
    )


def _manager_error(parts: SplitResult, package_manager: str) -> str:
    """Why `package_manager` cannot use an index at this URL, or "". Poetry (2.5.1) fails to
    lock from a bracketed IPv6 host (`Failed to parse: '%5b::1%5d:PORT' is not a valid host or
    port`, reproduced by tests/test_mirrors.py); uv and pip lock and install from it."""
    if package_manager == "poetry" and ":" in (parts.hostname or ""):
        return (
            "Give the mirror's host name (one your DNS or /etc/hosts resolves to that address): "
            f"poetry cannot lock from an IPv6 address such as '{parts.hostname}' (it reads the "
            "brackets as part of the host); uv and pip can."
        )
    return ""


URL_EXAMPLE = (
    "e.g. https://download.pytorch.org/whl, or "
    f"https://nexus.example/repository/pytorch-{VARIANT_PLACEHOLDER}/simple"
)


def _url_text_error(url: str) -> str:
    """Why the text of an index URL answer cannot be one (spaces, control characters, a
    placeholder other than `{variant}`), or ""."""
    if re.search(r"\s", url) or control_characters(url):
        return f"Remove the spaces and control characters from the URL ({URL_EXAMPLE})."
    if others := [p for p in re.findall(r"{[^{}]*}|[{}]", url) if p != VARIANT_PLACEHOLDER]:
        return (
            f"Write the variant's place as {VARIANT_PLACEHOLDER}, the only placeholder the "
            f"template fills: '{others[0]}' is not one ({URL_EXAMPLE})."
        )
    return ""


def _url_parts_error(url: str, parts: SplitResult) -> str:
    """Why an index URL's parts (scheme, credentials, host and port, query, path) are not
    those of an index the project may name, or ""."""
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"Give an http(s) URL ({URL_EXAMPLE}): '{url}' is not one."
    if parts.username is not None or parts.password is not None:
        return f"Keep credentials out of the URL (it is written to files): {CREDENTIAL_HELP}."
    if error := host_error(parts.netloc):
        return error
    if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
        return (
            f"Use {'https' + url[len('http') :]}: an http:// index is accepted only on this "
            "machine (127.0.0.1, ::1, localhost): pip ignores one on another host, and "
            "credentials would travel in clear."
        )
    if parts.query or parts.fragment:
        return "Give the index URL without a query or fragment (e.g. .../whl)."
    if not URL_CHARACTERS.fullmatch(parts.path):
        return (
            "Percent-encode the URL's other characters: use letters, digits and - . _ ~ : / % "
            f"+ , = only ({URL_EXAMPLE})."
        )
    return ""


def _variant_segment_error(url: str) -> str:
    """Why a base URL that already ends in a variant (`.../whl/cu130`) is refused, or ""."""
    last = url.rstrip("/").rsplit("/", 1)[-1]
    if VARIANT_PLACEHOLDER not in url and Variant.is_index_variant(last.lower()):
        base = url.rstrip("/").rsplit("/", 1)[0]
        return (
            f"Give the base, e.g. {base} (the template appends the variant, here '{last}'), "
            f"or a template with {VARIANT_PLACEHOLDER} where the variant goes."
        )
    return ""


def host_error(netloc: str) -> str:
    """Why a URL's `host[:port]` (no credentials) is not a valid one, or ""."""
    if netloc.endswith(":"):
        return f"Give the port after the colon, or no colon: '{netloc}' has an empty port."
    if netloc.startswith("["):  # [IPv6] or [IPv6]:port
        host, _, rest = netloc.partition("]")
        host, port = f"{host}]", rest.removeprefix(":")
        if rest and not rest.startswith(":"):
            return f"Give the port after the IPv6 address as [::1]:8443: '{netloc}' is not that."
    else:
        host, _, port = netloc.partition(":")
    if port and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        return f"Give a port between 1 and 65535: '{port}' is not one."
    return _ip_literal_error(host) if host.startswith("[") else _host_name_error(host)


def _ip_literal_error(host: str) -> str:
    """Why a bracketed IPv6 host (`[::1]`) is not a valid one, or ""."""
    if "%" in host:
        return f"Leave the zone out of the IPv6 address ('{host}'): a URL cannot carry it."
    try:
        ipaddress.IPv6Address(host[1:-1])
    except ValueError:
        return f"Give a valid IPv6 address between the brackets: '{host}' is not one."
    return ""


def _host_name_error(host: str) -> str:
    """Why a host (an IPv4 address or a DNS name) is not a valid one, or ""."""
    labels = host.split(".")
    if all(label.isascii() and label.isdigit() for label in labels):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return f"Give a valid IPv4 address or host name: '{host}' is not one."
        return ""
    if labels[-1].isdigit() or len(host) > 253:  # URL parsers read a numeric tail as IPv4
        return f"Give a valid IPv4 address or host name: '{host}' is not one."
    if not all(HOST_LABEL.fullmatch(label) for label in labels):
        return (
            "Give a valid host name (letters, digits and hyphens between dots; an international "
            f"name in its xn-- form; an IPv6 address in brackets): '{host}' is not one."
        )
    return ""


def is_loopback(host: str) -> bool:
    """Whether `host` (a URL's hostname, unbracketed) names this machine."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

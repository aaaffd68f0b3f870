"""Offline post-processing of an Allure report: every outside reference found (the base64
payloads a single-file report embeds included), tracker scripts removed, every remaining URL
pointed at loopback, and a Content-Security-Policy that allows nothing but the report itself.
Pure text work on the report's files; html.py runs it before a report is put in place."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
import re
from pathlib import Path

log = logging.getLogger(__name__)

# Namespace identifiers (svg, xlink, xhtml, xmlns, MathML, rdf, XML): names, never fetched.
_W3C_NAMESPACE = re.compile(
    r"http://www\.w3\.org/(?:\d{4}(?:/\d{2})?/[A-Za-z0-9][\w-]*(?:/[A-Za-z][\w-]*)?/?(?:#|%23)?"
    r"|XML/1998/namespace)"
)

_DATA_URI_B64 = re.compile(
    r"(?P<head>data:[\w.+-]+/[\w.+-]+(?:\s*;\s*[\w.+-]+=[\w.+\"-]+)*\s*;\s*base64,)"
    r"(?P<b64>[A-Za-z0-9+/]+={0,2})"
)

_QUOTED_B64 = re.compile(r"(?P<q>['\"`])(?P<b64>[A-Za-z0-9+/]{24,}={0,2})(?P=q)")


# Defence in depth: even a reference the rewrite missed cannot load anything from outside.
_CSP = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'self\' data: blob: '
    "'unsafe-inline' 'unsafe-eval'; base-uri 'none'; form-action 'none'\">"
)


_LOOPBACK_HOST = "127.0.0.1"


_EMBED_DEPTH = 3


# scheme://authority/rest, also JSON-escaped (https:\/\/host\/path). An empty authority
# ("https://" + host at run time) is a prefix check or a template, not a reference.
_ABSOLUTE_URL = re.compile(
    r"(?<![A-Za-z0-9+.-])(?P<scheme>https?|wss?|ftp):(?P<sep>(?:\\?/){2})"
    r"(?P<auth>(?:[A-Za-z0-9\[$][\w.~%$&+,;=:@\[\]{}-]*)?)(?P<rest>(?:\\/|[^\s\"'`<>()\\])*)",
    re.IGNORECASE,
)


# //host.name/... as a protocol-relative reference: starts a token, host has a dotted name.
_RELATIVE_URL = re.compile(
    r"(?<![A-Za-z0-9+/_$.:\\-])//"
    r"(?P<auth>(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
    r"|\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\])(?::\d+)?"
    r"(?=[/?#:\"'`\s)<>\\]|$)(?P<rest>[^\s\"'`<>()\\]*)",
    re.MULTILINE,
)


_SCRIPT = re.compile(r"<script\b(?P<attrs>[^>]*)>(?P<body>.*?)</script\s*>[ \t]*\n?", re.S | re.I)


_SCRIPT_SRC = re.compile(r"\bsrc\s*=\s*[\"']?(?P<src>[^\"'\s>]*)", re.I)


_TRACKER = re.compile(
    r"googletagmanager|google-analytics|\bgtag\s*\(|\bdataLayer\b|\bga\s*\(\s*['\"](?:create|send)",
    re.I,
)


# Allure 2 single-file: d('history/history-trend.json','<base64>')
EMBEDDED_FILE = re.compile(r"\bd\('(?P<name>[\w./-]+)'\s*,\s*'(?P<b64>[A-Za-z0-9+/]*={0,2})'\)")


def _allowed(url: str, authority: str) -> bool:
    if _W3C_NAMESPACE.fullmatch(url):
        return True
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _decode_b64_text(payload: str) -> str | None:
    """The UTF-8 text a base64 payload carries, or None for binary or not base64 at all."""
    if len(payload) % 4:
        return None
    try:
        raw = base64.b64decode(payload, validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return None if "\x00" in text else text


def _scan_text(text: str, depth: int = 0) -> list[tuple[bool, str]]:
    """Outside references in text: (found inside an embedded base64 payload, url)."""
    found: list[tuple[bool, str]] = []
    for match in _ABSOLUTE_URL.finditer(text):
        url = match.group(0)
        if match.group("auth") and not _allowed(url, match.group("auth")):
            found.append((depth > 0, url))
    for match in _RELATIVE_URL.finditer(text):
        if not _allowed(match.group(0), match.group("auth")):
            found.append((depth > 0, match.group(0)))
    if depth < _EMBED_DEPTH:
        for pattern in (_DATA_URI_B64, _QUOTED_B64):
            for match in pattern.finditer(text):
                inner = _decode_b64_text(match.group("b64"))
                if inner is not None:
                    found.extend((True, url) for _, url in _scan_text(inner, depth + 1))
    return found


def _is_tracker_script(match: re.Match[str]) -> bool:
    if _TRACKER.search(match.group("body")):
        return True
    src = _SCRIPT_SRC.search(match.group("attrs"))
    return bool(src and not src.group("src").startswith("data:") and _TRACKER.search(src.group(0)))


def _rewrite_absolute(match: re.Match[str]) -> str:
    auth = match.group("auth")
    if not auth or _allowed(match.group(0), auth):
        return match.group(0)
    return f"{match.group('scheme')}:{match.group('sep')}{_LOOPBACK_HOST}{match.group('rest')}"


def _rewrite_relative(match: re.Match[str]) -> str:
    if _allowed(match.group(0), match.group("auth")):
        return match.group(0)
    return f"//{_LOOPBACK_HOST}{match.group('rest')}"


def _clean_payload(payload: str, depth: int) -> str | None:
    """A base64 text payload with _clean_text applied, re-encoded; None when nothing changed."""
    inner = _decode_b64_text(payload)
    if inner is None:
        return None
    cleaned = _clean_text(inner, depth + 1)
    if cleaned == inner:
        return None
    return base64.b64encode(cleaned.encode("utf-8")).decode("ascii")


def _clean_text(text: str, depth: int = 0) -> str:
    """Tracker scripts removed, every outside reference pointed at loopback, embeds included."""
    if depth < _EMBED_DEPTH:

        def data_uri(match: re.Match[str]) -> str:
            payload = _clean_payload(match.group("b64"), depth)
            return match.group(0) if payload is None else match.group("head") + payload

        def quoted(match: re.Match[str]) -> str:
            payload = _clean_payload(match.group("b64"), depth)
            quote = match.group("q")
            return match.group(0) if payload is None else quote + payload + quote

        text = _DATA_URI_B64.sub(data_uri, text)
        text = _QUOTED_B64.sub(quoted, text)
    if "<script" in text.lower():
        text = _SCRIPT.sub(lambda m: "" if _is_tracker_script(m) else m.group(0), text)
    text = _ABSOLUTE_URL.sub(_rewrite_absolute, text)
    return _RELATIVE_URL.sub(_rewrite_relative, text)


def _text_files(report_dir: Path) -> list[tuple[Path, str]]:
    """Every file of the report that is text (no NUL byte), decoded losslessly."""
    files = []
    for path in sorted(report_dir.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        raw = path.read_bytes()
        if b"\x00" in raw:
            continue
        files.append((path, raw.decode("utf-8", "surrogateescape")))
    return files


def external_references(report_dir: Path) -> list[tuple[str, str]]:
    """(file relative to report_dir, url) for each outside reference in the report's text files.

    Outside means any http(s)/ws(s)/ftp URL or protocol-relative `//host` whose host is not
    loopback, except the W3C namespace identifiers. Base64 payloads (data: URIs, a single-file
    report's embedded files) are decoded and scanned too; those are marked "(embedded)".
    """
    found = []
    for path, text in _text_files(report_dir):
        name = path.relative_to(report_dir).as_posix()
        for embedded, url in _scan_text(text):
            found.append((f"{name} (embedded)" if embedded else name, url))
    return found


def external_urls(report_dir: Path) -> list[str]:
    """The outside references left in a report: empty for a report fit to hand over."""
    return [url for _, url in external_references(report_dir)]


def sanitize_report(report_dir: Path) -> int:
    """Remove tracker scripts and point every outside reference at loopback; files changed.

    index.html also gets a Content-Security-Policy that allows nothing but the report itself.
    """
    changed = 0
    for path, text in _text_files(report_dir):
        cleaned = _clean_text(text)
        if (
            path.name == "index.html"
            and path.parent == report_dir
            and "Content-Security-Policy" not in cleaned
        ):
            cleaned = re.sub(
                r"(<head\b[^>]*>)", lambda m: m.group(1) + "\n    " + _CSP, cleaned, count=1
            )
        if cleaned != text:
            path.write_bytes(cleaned.encode("utf-8", "surrogateescape"))
            changed += 1
            if path.relative_to(report_dir).parts[0] in {"data", "history", "widgets", "export"}:
                log.warning(
                    "report: outside references in %s (test data) now point at loopback",
                    path.relative_to(report_dir).as_posix(),
                )
    return changed

"""The secret registry masks every encoded form a password takes on its way into a report."""

from __future__ import annotations

import base64
import json
import urllib.parse
from pathlib import Path

from smbtests.secrets import MASK, SecretRegistry

CANARY = 'can<ary> "pw"&7731'


def registry() -> SecretRegistry:
    found = SecretRegistry()
    found.add(CANARY, "smblab")
    return found


def test_every_form_is_masked() -> None:
    forms = [
        CANARY,
        repr(CANARY),
        json.dumps({"password": CANARY}),
        "<x>can&lt;ary&gt; &quot;pw&quot;&amp;7731</x>",
        urllib.parse.quote(CANARY, safe=""),
        base64.b64encode(b"smblab:" + CANARY.encode()).decode(),
    ]
    for text in forms:
        assert registry().found_in(text), text
        assert not registry().found_in(registry().scrub(text)), text
        assert MASK in registry().scrub(text)


def test_short_values_are_not_registered() -> None:
    short = SecretRegistry()
    short.add("ab")
    assert not short
    assert short.scrub("ab cd") == "ab cd"


def test_scan_names_files_that_hold_a_secret(tmp_path: Path) -> None:
    (tmp_path / "clean.json").write_text('{"ok": true}')
    (tmp_path / "sub").mkdir()
    leaked = tmp_path / "sub" / "result.xml"
    leaked.write_text(f"<failure>login {urllib.parse.quote_plus(CANARY)}</failure>")
    assert registry().scan_files([tmp_path]) == [leaked]


def test_xml_text_and_domain_basic_forms() -> None:
    import xml.etree.ElementTree as ET

    secret = "p<ss'w0rd\"x"
    found = SecretRegistry()
    found.add(secret, "CONTOSO\\svc")
    element = ET.Element("failure")
    element.text = f"login {secret}"
    element.set("message", secret)
    assert found.found_in(ET.tostring(element, encoding="unicode"))
    for user in ("CONTOSO\\svc", "svc"):
        assert found.found_in(base64.b64encode(f"{user}:{secret}".encode()).decode())


def test_a_run_without_secrets_reads_no_file(tmp_path: Path) -> None:
    unreadable = tmp_path / "results.json"
    unreadable.mkdir()  # read_bytes() would raise: the scan must not get that far
    assert SecretRegistry().scan_files([tmp_path, unreadable]) == []

"""Secrets and every form they can take on the way into a report.

A password can leave a run raw, repr()'d, JSON- or XML-escaped, URL-quoted or base64'd inside a
Basic header (FIELD-NOTES measured ~28 paths). One registry knows all forms of every secret the
run holds; writers scrub with it and the run's output files are scanned with it afterwards.
"""

from __future__ import annotations

import base64
import html
import json
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words; refuse them at load instead


@dataclass
class SecretRegistry:
    _forms: set[str] = field(default_factory=set, repr=False)

    def add(self, secret: str, username: str | None = None) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            return
        forms = {
            secret,
            repr(secret)[1:-1],
            json.dumps(secret)[1:-1],
            html.escape(secret),
            html.escape(secret, quote=False),  # XML text nodes (JUnit) leave quotes alone
            secret.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace('"', "&quot;"),  # XML attributes
            urllib.parse.quote(secret, safe=""),
            urllib.parse.quote_plus(secret),
            base64.b64encode(secret.encode()).decode(),
        }
        if username is not None:
            for name in {username, username.split("\\")[-1]}:
                forms.add(base64.b64encode(f"{name}:{secret}".encode()).decode())
        self._forms |= {f for f in forms if len(f) >= MIN_SECRET_LENGTH}

    def __bool__(self) -> bool:
        return bool(self._forms)

    def scrub(self, text: str) -> str:
        for form in sorted(self._forms, key=len, reverse=True):
            text = text.replace(form, MASK)
        return text

    def found_in(self, text: str) -> bool:
        return any(form in text for form in self._forms)

    def scan_files(self, roots: Iterable[Path]) -> list[Path]:
        """Files under roots that contain any form of any secret (their names, never the text)."""
        hits: list[Path] = []
        for root in roots:
            files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
            for path in files:
                data = path.read_bytes().decode("utf-8", errors="ignore")
                if self.found_in(data):
                    hits.append(path)
        return hits

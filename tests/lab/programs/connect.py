"""Connect to every ADDRESS:PORT at once, from wherever this runs; print one JSON verdict each.

Usage: python3 connect.py TIMEOUT [--from SOURCE] ADDRESS:PORT...   ([v6 address]:port)
Plain sockets and nothing of smbtests, so the lab's tests do not trust the code they test.
Verdicts: open (handshake done), refused (reset), filtered (no answer in time), error: ...
"""

import json
import socket
import sys
from concurrent.futures import ThreadPoolExecutor


def attempt(target: str, timeout: float, source: str | None) -> str:
    address, port = target.rsplit(":", 1)
    address = address.strip("[]")
    bind = None if source is None else (source, 0)
    try:
        with socket.create_connection((address, int(port)), timeout=timeout, source_address=bind):
            return "open"
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "filtered"
    except OSError as exc:
        return f"error: {exc}"


def main() -> None:
    timeout, targets = float(sys.argv[1]), sys.argv[2:]
    source = None
    if targets[:1] == ["--from"]:
        source, targets = targets[1], targets[2:]
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        verdicts = pool.map(lambda target: attempt(target, timeout, source), targets)
        print(json.dumps(dict(zip(targets, verdicts, strict=True))))


main()

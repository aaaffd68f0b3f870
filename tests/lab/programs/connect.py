"""Connect to every ADDRESS:PORT at once, from wherever this runs; print one JSON verdict each.

Usage: python3 connect.py TIMEOUT ADDRESS:PORT...
Plain sockets and nothing of smbtests, so the lab's tests do not trust the code they test.
Verdicts: open (handshake done), refused (reset), filtered (no answer in time), error: ...
"""

import json
import socket
import sys
from concurrent.futures import ThreadPoolExecutor


def attempt(target: str, timeout: float) -> str:
    address, port = target.rsplit(":", 1)
    try:
        with socket.create_connection((address, int(port)), timeout=timeout):
            return "open"
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "filtered"
    except OSError as exc:
        return f"error: {exc}"


def main() -> None:
    timeout, targets = float(sys.argv[1]), sys.argv[2:]
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        verdicts = pool.map(lambda target: attempt(target, timeout), targets)
        print(json.dumps(dict(zip(targets, verdicts, strict=True))))


main()

"""Connect checks run inside a lab namespace: does each service answer?

Usage: python -m smbtests.lab.reach TIMEOUT WAIT ADDR:PORT...
Prints {"ADDR:PORT": "open" | "refused" | "filtered" | "error: ..."}; a target `quic/ADDR:PORT`
is a QUIC handshake (ALPN smb) instead, "open" once it completes. With WAIT > 0 it keeps
polling the targets that are not open until they are or the wait is over: that is how `lab up`
waits for its services without sleeping blindly.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from smbtests.errors import LabError
from smbtests.lab import netns
from smbtests.lab.topology import Endpoint
from smbtests.observations import QUIC_SILENT, QuicRequest, QuicState, Target
from smbtests.probes.local import LocalProbe
from smbtests.quic import from_probe

POLL_INTERVAL = 0.05
QUIC_PREFIX = "quic/"  # a target `quic/ADDR:PORT` is a QUIC handshake, not a TCP connect


def connect(target: str, timeout: float) -> str:
    if target.startswith(QUIC_PREFIX):
        return quic_handshake(target.removeprefix(QUIC_PREFIX), timeout)
    address, port = target.rsplit(":", 1)
    address = address.removeprefix("[").removesuffix("]")  # an IPv6 endpoint is [address]:port
    try:
        with socket.create_connection((address, int(port)), timeout=timeout):
            return "open"
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "filtered"
    except OSError as exc:
        return f"error: {exc.strerror or exc}"


def quic_handshake(target: str, timeout: float) -> str:
    """A QUIC handshake with ALPN smb from this namespace (the engine's own client over the
    in-process relay): `open` once a QUIC server answers (a scenario's stand-in with another
    ALPN refuses smb, and is up all the same), else the state's word."""
    address, port = target.rsplit(":", 1)
    host = address.removeprefix("[").removesuffix("]")
    request = QuicRequest(Target(host, int(port)), host)
    found = from_probe(LocalProbe("lab"), [request], timeout, None)[request]
    if isinstance(found, Exception):
        return f"error: {found}"
    silent = found.state in QUIC_SILENT or found.state is QuicState.ERROR
    return found.state.value if silent else "open"


def check_all(targets: list[str], timeout: float, wait: float) -> dict[str, str]:
    deadline = time.monotonic() + wait
    results: dict[str, str] = {}
    pending = list(targets)
    with ThreadPoolExecutor(max_workers=max(1, len(targets))) as pool:
        while True:
            answers = pool.map(lambda t: connect(t, timeout), pending)
            results.update(zip(pending, answers, strict=True))
            pending = [t for t in pending if results[t] != "open"]
            if not pending or time.monotonic() >= deadline:
                return results
            time.sleep(POLL_INTERVAL)


def check_many(
    requests: dict[str, list[Endpoint]], timeout: float, wait: float = 0.0
) -> dict[str, dict[str, str]]:
    """check_all inside each namespace, all namespaces at once: one interpreter start each."""
    procs = {
        namespace: subprocess.Popen(
            netns.exec_argv(
                namespace,
                [sys.executable, "-m", "smbtests.lab.reach", str(timeout), str(wait)]
                + [str(target) for target in targets],
            ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for namespace, targets in requests.items()
    }
    answers: dict[str, dict[str, str]] = {}
    failures: list[str] = []
    for namespace, proc in procs.items():
        try:
            out, err = proc.communicate(timeout=wait + timeout + 15)
            answers[namespace] = json.loads(out)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            failures.append(f"{namespace}: did not finish")
        except ValueError:
            failures.append(f"{namespace}: {err.strip() or 'no answer'}")
    if failures:
        raise LabError(f"connect checks failed: {'; '.join(failures)}")
    return answers


def main(argv: list[str]) -> None:
    timeout, wait, targets = float(argv[0]), float(argv[1]), argv[2:]
    print(json.dumps(check_all(targets, timeout, wait)))


if __name__ == "__main__":
    main(sys.argv[1:])

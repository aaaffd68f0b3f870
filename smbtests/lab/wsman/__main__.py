"""Run the WS-Management DOUBLE: `python -m smbtests.lab.wsman --bind IP --state FILE ...`.

When both listeners are up it prints one JSON line to stdout, e.g.
{"double": "smbtests-wsman-double", "http": ["127.0.0.1", 5985], "https": [...], "ca": PATH},
so a caller can wait for that line instead of polling ports (a port of 0 picks a free one).
It runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from smbtests.lab.wsman import auth, firewall_log, server, tls
from smbtests.lab.wsman.state import default_state, read_state, write_state

log = logging.getLogger("smbtests.lab.wsman")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m smbtests.lab.wsman",
        description="A WS-Management DOUBLE of a Windows host for the smbtests lab (not Windows).",
    )
    parser.add_argument("--bind", required=True, help="address to listen on")
    parser.add_argument("--http-port", type=int, default=5985, help="0 picks a free port")
    parser.add_argument("--https-port", type=int, default=5986, help="0 picks a free port")
    parser.add_argument(
        "--state", type=Path, required=True, help="state JSON; created compliant if missing"
    )
    parser.add_argument(
        "--cert-dir", type=Path, required=True, help="where the lab CA and certificate go"
    )
    parser.add_argument("--user", required=True, help="the one account: user or DOMAIN\\user")
    parser.add_argument(
        "--password-file", type=Path, required=True, help="file holding the account's password"
    )
    parser.add_argument(
        "--hostname", default="win1", help="DNS name in the certificate; NetBIOS name in faults"
    )
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING"))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s DOUBLE smbtests-wsman-double %(levelname)s %(message)s",
    )
    # pyspnego logs whole NTLM messages at DEBUG; those are crackable offline.
    logging.getLogger("spnego").setLevel(logging.INFO)
    password = args.password_file.read_text(encoding="utf-8").rstrip("\r\n")
    account = auth.Account(args.user, password)
    if not args.state.exists():
        write_state(args.state, default_state())
        log.info("wrote a compliant state to %s", args.state)
    read_state(args.state)  # fail now, not at the first command, if it is not a state file
    firewall_log.ensure(firewall_log.beside(args.state))
    store = auth.install_ntlm_account(account, args.hostname.upper())
    try:
        files = tls.make_lab_ca(args.cert_dir, args.hostname, [args.bind])
        service = server.WsmanService(args.state, args.hostname.upper())
        http = server.WsmanHTTPServer((args.bind, args.http_port), service, account)
        https = server.WsmanHTTPServer(
            (args.bind, args.https_port),
            service,
            account,
            tls=server.tls_context(files.certificate, files.key),
            bindings=auth.channel_bindings(files.certificate.read_bytes()),
        )
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        for listener in (http, https):
            server.start(listener)
        ready = {
            "double": server.SERVER_HEADER,
            "http": [args.bind, server.bound_port(http)],
            "https": [args.bind, server.bound_port(https)],
            "ca": str(files.ca.resolve()),
        }
        print(json.dumps(ready), flush=True)
        log.info("listening: %s (state %s, user %s)", ready, args.state, args.user)
        stop.wait()
        for listener in (http, https):
            listener.shutdown()
            listener.server_close()
        log.info("stopped")
    finally:
        shutil.rmtree(store, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Runs deploy/docker/healthcheck (the image's HEALTHCHECK) against local HTTP servers.

It must pass only when GET /healthz answers 200 on the port of PERF_FIXER_LISTEN, and
fail when the answer is another status, when the path is wrong, or when nothing listens.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def serve(status_for_healthz: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            status = status_for_healthz if self.path == "/healthz" else 404
            body = b"ok\n" if status == 200 else b"no\n"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the probe hangs up after the status line, as it may

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(script: Path, listen: str) -> int:
    env = dict(os.environ, PERF_FIXER_LISTEN=listen)
    return subprocess.run([str(script)], env=env, capture_output=True, timeout=20).returncode


def main() -> int:
    script = Path(sys.argv[1])
    failures = []
    cases = []

    healthy = serve(200)
    cases.append(("200 on /healthz passes", run(script, f"0.0.0.0:{healthy.server_port}"), 0))
    unhealthy = serve(503)
    cases.append(("503 on /healthz fails", run(script, f"0.0.0.0:{unhealthy.server_port}"), 1))
    no_content = serve(204)
    cases.append(("another 2xx (204) on /healthz fails", run(script, f"[::]:{no_content.server_port}"), 1))
    cases.append(("nothing listening fails", run(script, f"127.0.0.1:{free_port()}"), 1))
    for server in (healthy, unhealthy, no_content):
        server.shutdown()

    for name, got, want in cases:
        ok = (got == 0) == (want == 0)
        print(f"  healthcheck: {name}: {'ok' if ok else f'FAILED (exit {got})'}")
        if not ok:
            failures.append(name)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

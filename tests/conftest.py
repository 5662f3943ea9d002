"""Shared fixtures: an isolated ENRICH_HOME per test session, settings."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


@pytest.fixture(scope="session")
def enrich_home() -> Iterator[Path]:
    """A private ENRICH_HOME (short path: the server's socket lives there)."""
    home = Path(tempfile.mkdtemp(prefix="enrich-test-", dir="/tmp"))
    previous = os.environ.get("ENRICH_HOME")
    os.environ["ENRICH_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("ENRICH_HOME", None)
    else:
        os.environ["ENRICH_HOME"] = previous
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(enrich_home: Path):
    from ml.core.config import load_settings

    return load_settings()


@pytest.fixture(scope="session")
def warehouse(settings) -> Iterator:
    """The embedded PostgreSQL of the test session's ENRICH_HOME."""
    from ml.core import warehouse as wh

    wh.start_embedded(settings)
    yield settings
    wh.stop_embedded(settings)


@pytest.fixture
def keep_builds(settings):
    """Put back the record of which engine built the ML sets (shared home)."""
    record = settings.home / "dbt" / "ml_sets.json"
    saved = record.read_bytes() if record.exists() else None
    yield
    if saved is None:
        record.unlink(missing_ok=True)
    else:
        record.write_bytes(saved)


@pytest.fixture
def sql(warehouse):
    """Run one query on the warehouse and return all rows."""
    from ml.core.warehouse import connect

    def run(query: str, params: list | None = None) -> list[tuple]:
        with connect(warehouse) as conn:
            return conn.execute(query, params).fetchall()

    return run


# -- an HTTP destination on 127.0.0.1 -----------------------------------------


SECRET = "test-shared-secret-do-not-print"  # noqa: S105 - a test value


class Receiver:
    """An HTTP receiver that checks signatures, dedups by key, misbehaves on cue."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.script: list[str] = []  # per request: ok | 500 | 429 | slow | 400 | hold
        self.accepted: dict[str, dict] = {}  # by idempotency key, first wins
        self.requests: list[str] = []
        self.held = threading.Event()
        self.release = threading.Event()
        self.secret = SECRET
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                import hashlib
                import hmac
                import json as json_
                import time as time_

                body = self.rfile.read(int(self.headers["Content-Length"]))
                key = self.headers["Idempotency-Key"]
                receiver.requests.append(key)
                expected = (
                    "sha256="
                    + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                )
                if self.headers.get("X-Enrich-Signature") != expected:
                    return self.reply(401)
                cue = receiver.script.pop(0) if receiver.script else "ok"
                if cue == "500":
                    return self.reply(500)
                if cue == "400":
                    return self.reply(400, b"audience unknown here")
                if cue == "429":
                    return self.reply(429, headers={"Retry-After": "1"})
                if cue == "slow":
                    time_.sleep(1.5)  # past the client's timeout; accepted anyway
                if cue == "hold":
                    receiver.held.set()
                    receiver.release.wait(30)
                receiver.accepted.setdefault(key, json_.loads(body))
                return self.reply(200)

            def reply(self, status, body=b"", headers=None):
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?token=x"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def changes(self) -> list[tuple[str, str]]:
        return sorted(
            (change["status"], change["profile_id"])
            for batch in self.accepted.values()
            for change in batch["changes"]
        )


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.release.set()
    server.server.shutdown()


def _http_audiences(settings, tmp_path, url, name, monkeypatch, extra=""):
    """Settings whose audiences.yml sends likely_subscribers to ``url``.

    ``extra``: more destination keys, as YAML lines indented by four spaces.
    """
    monkeypatch.setenv("ENRICH_TEST_SECRET", SECRET)
    path = tmp_path / "audiences.yml"
    path.write_text(
        f"""
destinations:
  {name}:
    type: http
    channel: email
    url: "{url}"
    secret_env: ENRICH_TEST_SECRET
    batch_size: 10
    timeout_seconds: 0.5
    backoff_seconds: 0.01
    max_backoff_seconds: 2
{extra}
audiences:
  - id: likely_subscribers
    name: Likely subscribers
    rule: decile >= 9 and not subscribed
    holdout_percent: 10
    destinations: [{name}]
    attributes: [propensity, decile]
"""
    )
    monkeypatch.setenv("ENRICH_AUDIENCES__FILE", str(path))
    return settings.model_copy(
        update={"audiences": settings.audiences.model_copy(update={"file": path})}
    )


@pytest.fixture
def http_audiences():
    """``http_audiences(settings, tmp_path, url, name, monkeypatch)``: settings
    (and ENRICH_AUDIENCES__FILE) with one audience sent to an HTTP destination."""
    return _http_audiences


# -- one Prefect server per test session -----------------------------------------


@pytest.fixture(scope="session")
def prefect_api(enrich_home: Path) -> Iterator[str]:
    """A real ``prefect server start`` on 127.0.0.1; PREFECT_API_URL points at it.

    Child processes (``enrich`` commands) inherit the variable, so every flow
    run of the session talks to this one server (1-2 s per run instead of a
    temporary server's 20-40 s start).
    """
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api"
    home = enrich_home / "prefect-server"
    home.mkdir()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": "",
    }
    log = (home / "server.log").open("w")
    prefect = Path(sys.executable).parent / "prefect"
    server = subprocess.Popen(
        [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port),
         "--analytics-off", "--no-ui"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise RuntimeError(
                "prefect server did not start: " + (home / "server.log").read_text()
            )
        time.sleep(0.5)
    saved = {key: os.environ.get(key) for key in ("PREFECT_API_URL", "PREFECT_HOME")}
    os.environ["PREFECT_API_URL"] = url
    os.environ["PREFECT_HOME"] = str(enrich_home / "prefect-client")
    yield url
    if "prefect" in sys.modules:  # send the last log lines while the server is up
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=5)
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value

"""What every benchmark shares: the database and its data, the server, figures and results."""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
VAR = ROOT / "var" / "bench"
HOST = "127.0.0.1"
DEFAULT_PORT = int(os.environ.get("BENCH_PORT", "5601"))
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/portale_bench_{scale}"
SCALES = {
    # companies, procedures
    "small": (2_000, 20_000),
    "medium": (22_000, 100_000),
    "full": (220_000, 1_000_000),
}
DEMO_PASSWORD = "demo12345!"
CLERK = "suap@demo.it"
ANALYST = "analista@demo.it"
COMPANY_USER = "impresa1@dati-generati.example"


@dataclass(frozen=True)
class Target:
    db: str  # sqlite | postgres
    scale: str  # small | full
    url: str

    @property
    def label(self) -> str:
        return f"{self.db}-{self.scale}"


def target_for(db: str, scale: str) -> Target:
    if db == "postgres":
        # one database per scale: "{scale}" in the URL is replaced by small or full
        url = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES).replace("{scale}", scale)
    else:
        VAR.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{VAR / f'bench-{scale}.db'}"
    return Target(db, scale, url)


def env_for(target: Target) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PORTALE_DATABASE_URL=target.url,
        PORTALE_EMBEDDED_WORKER="0",
        PORTALE_VAR_DIR=str(VAR / target.label),
        PORTALE_MAIL_BACKEND="file",
        PORTALE_SECRET_KEY="bench-secret-key",
    )
    return env


# --- figures -----------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def timings(values: list[float]) -> dict[str, float]:
    """Median, p95 and max of durations in seconds, reported in milliseconds."""
    return {
        "runs": len(values),
        "median_ms": round(statistics.median(values) * 1000, 2),
        "p95_ms": round(percentile(values, 0.95) * 1000, 2),
        "max_ms": round(max(values) * 1000, 2),
    }


def check_idle() -> float:
    """The 1-minute load average, with a warning when other work shares the CPUs."""
    load = os.getloadavg()[0]
    cpus = os.cpu_count() or 1
    if load > cpus * 0.75:
        print(
            f"  WARNING: load average {load:.1f} on {cpus} CPUs: other processes compete for "
            "the CPUs and the figures below are inflated"
        )
    return load


def verdict(value: float, target: float) -> str:
    return "OK" if value <= target else "MISSED"


def save(name: str, target: Target, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{stamp}-{name}-{target.label}.json"
    body = {
        "benchmark": name,
        "db": target.db,
        "scale": target.scale,
        "load_average_after": os.getloadavg(),
        "cpus": os.cpu_count(),
        **payload,
    }
    path.write_text(json.dumps(body, indent=2, default=str))
    print(f"  results: {path.relative_to(ROOT)}")
    return path


# --- data --------------------------------------------------------------------------------------


def ensure_data(target: Target, regenerate: bool = False) -> dict[str, Any]:
    """Migrate the database and generate the scale's data set unless it is there already."""
    from portale import migrate

    companies, procedures = SCALES[target.scale]
    migrate.upgrade(target.url, "head")
    present = _generated_count(target)
    if present >= procedures and not regenerate:
        print(f"  data: {present} generated procedures already in {target.db}")
        return {"generated_now": False, "procedures": present}
    print(f"  data: generating {procedures} procedures, {companies} companies ({target.db})...")
    started = time.perf_counter()
    subprocess.run(
        [
            str(Path(sys.executable).with_name("portale")),
            "data",
            "generate",
            f"--companies={companies}",
            f"--procedures={procedures}",
            "--seed=1",
            "--truncate",
        ],
        env=env_for(target),
        check=True,
    )
    seconds = time.perf_counter() - started
    return {"generated_now": True, "procedures": procedures, "generation_seconds": seconds}


def _generated_count(target: Target) -> int:
    from sqlalchemy import text

    from portale.db import make_engine

    engine = make_engine(target.url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM procedure WHERE idempotency_key LIKE 'generated:%'")
                ).scalar_one()
            )
    finally:
        engine.dispose()


def engine_for(target: Target) -> Any:
    from portale.db import make_engine

    return make_engine(target.url)


# --- the server --------------------------------------------------------------------------------


class Server:
    """gunicorn with 2 sync workers on the bench port; peak RSS of its workers from /proc."""

    def __init__(self, target: Target, port: int = DEFAULT_PORT, workers: int = 2) -> None:
        self.target, self.port, self.workers = target, port, workers
        self.process: subprocess.Popen[bytes] | None = None
        self.base = f"http://{HOST}:{port}"
        self.peaks: dict[int, int] = {}

    def __enter__(self) -> Server:
        try:
            return self._start()
        except BaseException:
            self.__exit__()
            raise

    def _start(self) -> Server:
        gunicorn = Path(sys.executable).with_name("gunicorn")
        if not gunicorn.exists():
            raise SystemExit("gunicorn is missing: .venv/bin/pip install -e '.[bench]'")
        log = VAR / f"gunicorn-{self.target.label}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                str(gunicorn),
                "-w",
                str(self.workers),
                "-b",
                f"{HOST}:{self.port}",
                "--timeout",
                "120",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env_for(self.target),
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                requests.get(self.base + "/", timeout=30)
                return self
            except (requests.ConnectionError, requests.Timeout):
                if self.process.poll() is not None:
                    raise SystemExit(f"gunicorn did not start: see {log}") from None
                time.sleep(0.3)
        raise SystemExit(f"gunicorn did not answer in 60 s: see {log}")

    def __exit__(self, *_exc: object) -> None:
        if self.process is not None:
            self.sample_memory()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def sample_memory(self) -> dict[int, int]:
        """Peak resident memory (VmHWM, bytes) of each live worker, kept across samples."""
        for pid in self.worker_pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = int(line.split()[1]) * 1024
                        self.peaks[pid] = max(self.peaks.get(pid, 0), peak)
            except OSError:
                continue
        return self.peaks

    def login(self, email: str, password: str = DEMO_PASSWORD) -> requests.Session | None:
        """A logged-in browser session (CSRF token read from the form), or None."""
        import re

        client = requests.Session()
        page = client.get(self.base + "/account/accedi", timeout=30)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
        data = {"email": email, "password": password}
        if match:
            data["csrf_token"] = match.group(1)
        answer = client.post(
            self.base + "/account/accedi", data=data, allow_redirects=False, timeout=30
        )
        if answer.status_code != 302:
            print(f"  login as {email} failed ({answer.status_code})")
            return None
        return client


def cookie_header(client: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in client.cookies)


def ensure_wrk() -> str | None:
    """The wrk binary, installing the Debian package when we may; None (with a message) if not."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("  wrk is missing: installing it (apt-get install -y wrk)...")
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False)
        found = shutil.which("wrk")
    if not found:
        print("  wrk is missing: install it (sudo apt-get install wrk) to measure page latency.")
    return found

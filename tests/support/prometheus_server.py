"""A real Prometheus server for the tests (Debian's ``prometheus``), started on a free loopback port with a
generated config (scrape every second, storage in a temporary directory), and its HTTP query API.

Missing here: the test is skipped with the reason, unless TICKAGG_REQUIRE_STORES=1 (``make test`` sets it and
installs the package), where it fails.
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

from stores import missing

CONFIG = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: tickagg
    static_configs:
      - targets: [{targets}]
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Prometheus:
    def __init__(self, root: Path, targets: list[str]):
        binary = shutil.which("prometheus") or ("/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None)
        if binary is None:
            missing("prometheus is not installed (make test installs Debian's prometheus)")
        root.mkdir(parents=True, exist_ok=True)
        config = root / "prometheus.yml"
        config.write_text(CONFIG.format(targets=", ".join(f"'{target}'" for target in targets)))
        for _ in range(3):  # the free port may be taken between the probe and prometheus' bind
            self.port = _free_port()
            self.log = open(root / "prometheus.log", "wb")
            self.process = subprocess.Popen(
                [binary, f"--config.file={config}", f"--storage.tsdb.path={root / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                stdout=self.log, stderr=subprocess.STDOUT)
            if self._ready(30.0):
                return
            self.kill()
        raise RuntimeError(f"prometheus did not start: {(root / 'prometheus.log').read_text()[-2000:]}")

    def _ready(self, within_s: float) -> bool:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as answer:
                    if answer.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.2)
        return False

    def query(self, expression: str) -> list[dict]:
        """The instant vector ``expression`` evaluates to now: ``[{"metric": {...}, "value": [t, "v"]}, ...]``."""
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
        with urllib.request.urlopen(url, timeout=10) as answer:
            body = json.load(answer)
        assert body["status"] == "success", body
        return body["data"]["result"]

    def wait_for(self, expression: str, within_s: float) -> list[dict]:
        """Query until the answer is not empty (Prometheus scrapes once a second), or give up: the last answer."""
        deadline = time.monotonic() + within_s
        while True:
            result = self.query(expression)
            if result or time.monotonic() >= deadline:
                return result
            time.sleep(0.5)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)
        self.log.close()

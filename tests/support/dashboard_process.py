"""`tickagg dashboard` as a real process for the tests, and plain HTTP against it."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request


def start_dashboard(*arguments: str) -> tuple[subprocess.Popen, str]:
    """Start `tickagg dashboard --port 0 ...`; return the process and its base URL (from its first line)."""
    process = subprocess.Popen([sys.executable, "-m", "tickagg", "dashboard", "--port", "0", *arguments],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    line = process.stdout.readline()
    if "http://" not in line:
        process.kill()
        raise AssertionError(f"tickagg dashboard did not start: {line!r} {process.stderr.read()[-2000:]}")
    return process, line.split()[2].rstrip("/")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def get(url: str, headers: dict | None = None) -> tuple[int, dict]:
    """Status and JSON body of a GET."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_for(condition, what: str, timeout_s: float = 90.0, every_s: float = 0.5):
    """``condition()``'s first truthy value, polled (a deadline for a stuck group, not a measurement)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"not within {timeout_s} s: {what}")

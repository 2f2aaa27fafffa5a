"""`tickagg bench e2e`: the whole group at an operating point, measured from outside its processes.

1. ``tickagg run --simulate`` as a child process, exactly as a user starts it, with the
   simulator's market-like arrivals (``--universe N --arrivals poisson``: N symbols over
   the ten venues, Zipf-skewed, Poisson with bursts, multi-trade frames where the venue
   batches; simulator/arrivals.py, simulator/universe.py) at ``rate / 10`` per venue, and a
   store: a private clickhouse-server (bench/clickhouse_server.py) or chDB in a temp dir.
0. ``python -m aggregator.main`` compiles the Numba kernels into the cache (seconds when it is
   warm already, minutes after a source change), so no process compiles while measured.
2. Warm-up: until every venue has sent trades, then ``warmup`` s more.
3. Loaded window (``seconds``): CPU time per role from /proc/PID/stat at both ends, PSS
   per role from /proc/PID/smaps_rollup every 2 s (the maximum of the per-sample sums is
   reported), the simulator's count of trades written at both ends, and each feed's reads
   per second and frames per read (``_detail.feed_reads``; bench/e2e_reads.py), and how crowded
   the CPUs were (``_detail.contention``: the machine's busy share, the store server's CPU,
   each role's time runnable but waiting for a CPU; bench/e2e_contention.py), and how often
   each role woke, the CPU per wakeup and the nice values (``_detail.wakeups``; bench/e2e_wakeups.py),
   and the writer's inserts per table: how many a second, how long the store took to acknowledge them and the
   share of the window spent waiting for them (``_detail.writer_inserts``, from its status report at both ends;
   bench/e2e_inserts.py): the store's part of tick-to-storage.
4. Close-out and idle window: the simulator's rate drops to 1 trade/s per venue (10/s in
   all, over its control port). The loaded phase is not over until its last minute has
   closed: at the next minute boundary the aggregator closes the 1-minute bars and features
   of every symbol that traded in it (2,378 here) and the writer stores them; that costs
   a few hundred ms of CPU, the loaded phase's, not an idle group's. So the idle window
   starts ``CLOSEOUT_SETTLE_S`` after that boundary (the close-out's CPU and length are in
   the detail, ``closeout_cpu_pct`` / ``closeout_s``); then CPU over ``idle_seconds``
   (default 60: one idle minute, its own small minute close included).
   ``closeout=False`` (the tests) waits ``SETTLE_S`` instead.

The simulator runs at nice ``simulator_nice`` (default -5, when allowed): it stands for the
exchanges, so on a busy machine it should still offer the rate asked (the detail says how
many events it could not offer in time, ``arrivals_not_offered``, and how long it waited for
a slow reader, ``simulator_blocked_s``). The feeds and the aggregator run at ``group_nice``
(default: -10, as the systemd units run them, unless the environment sets ``feeds.nice`` /
``aggregator.nice``; 0: as started; a value the kernel would refuse, without root or
CAP_SYS_NICE, is not asked for: ``group_reniced`` false); the detail's ``wakeups.nice`` says
what each role ran at (tickagg/priority.py has the figures both ways).
5. The simulator pauses, the writer drains (its status report: no lag, nothing pending),
   the group stops (SIGTERM, as Ctrl-C), and the store is asked (bench/e2e_store.py).

The detail names the settings that trade latency for CPU, as the group ran with them: the feeds' read
batching wait (``feed_batch_wait_us``: ``feed_batch_wait_us`` here, else ``feeds.batch_wait_us`` from the
environment, else 1 ms; 0: off), the aggregator's naps while ticks flow (``aggregator_naps_us``:
``aggregator_nap_us`` here sets both) and the writer's batch age (``writer_batch_ms``: a private
clickhouse-server's CPU follows its insert rate; TICKAGG__WRITER__BATCH_MS sets it). ``feed_reads``
says how often each feed waited (``waits_per_s``).

``cpu_pct_total`` / ``pss_mb_total``: feeds + aggregator + writer + supervisor (not the
simulator, not the store server). CPU percentages are of one core.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.e2e_contention import Snapshot, contention
from bench.e2e_inserts import insert_status, inserts_in_window
from bench.e2e_wakeups import wakeup_figures
from bench.writer_command import writer_batch_ms
from bench.e2e_procs import ROLES, Group, cpu_pct
from bench.e2e_reads import feed_counters, reads_per_venue
from feeds.feed_command import default_wait_us
from tickagg.priority import UNITS_NICE, may_set
from tickagg.writer_report import report_path

REPO = Path(__file__).resolve().parents[1]
COUNTED = ("feeds", "aggregator", "writer", "supervisor")
IDLE_RATE = 1.0  # trades/s per venue in the idle phase
SETTLE_S = 3.0  # after the rate drop, before anything is measured
CLOSEOUT_SETTLE_S = 10.0  # after the minute boundary: bars close 0.25 s late, the writer stores them within ~5 s
PSS_EVERY_S = 2.0


class Control:
    """The simulator's JSON-lines control port (simulator/control.py)."""

    def __init__(self, port: int, timeout_s: float = 60.0):
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=30.0)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the simulator's control port {port} did not answer within {timeout_s} s")
                time.sleep(0.2)
        self.pending = b""

    def command(self, **request) -> dict:
        self.sock.sendall(json.dumps(request).encode() + b"\n")
        while b"\n" not in self.pending:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise RuntimeError("the simulator closed its control port")
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        reply = json.loads(line)
        if not reply.get("ok"):
            raise RuntimeError(f"simulator: {reply.get('error')}")
        return reply

    def sent(self) -> dict[str, dict]:
        """venue -> {"trades": live trades written, "open_connections": ...} (without per-symbol detail)."""
        venues = self.command(cmd="stats")["stats"]["venues"]
        return {venue: {"trades": report["trades"], "open": report["open_connections"], "blocked_s": report["blocked_s"],
                        "skipped": report["arrivals_skipped"]} for venue, report in venues.items()}

    def close(self) -> None:
        self.sock.close()


def closeout_wait_s(now_s: float) -> float:
    """Seconds from wall time ``now_s`` until ``CLOSEOUT_SETTLE_S`` past the next minute boundary: the loaded
    phase's last minute (the one running at ``now_s``) is then closed and stored."""
    boundary = (now_s // 60 + 1) * 60
    return boundary + CLOSEOUT_SETTLE_S - now_s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_trades(control: Control, run: subprocess.Popen, timeout_s: float, log: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if run.poll() is not None:
            raise RuntimeError(f"tickagg run exited with {run.returncode}; see {log}")
        sent = control.sent()
        if all(v["trades"] > 0 and v["open"] for v in sent.values()):
            return
        time.sleep(0.5)
    raise RuntimeError(f"not every venue sent trades within {timeout_s} s: {control.sent()}; see {log}")


def _wait_drained(report_path: str, timeout_s: float = 60.0) -> bool:
    """The writer's report says nothing is left to store (twice in a row, reports come each second)."""
    deadline, quiet = time.monotonic() + timeout_s, 0
    while time.monotonic() < deadline:
        time.sleep(1.0)
        try:
            with open(report_path) as f:
                report = json.load(f)
        except (OSError, ValueError):
            continue
        lag = sum(ring.get("lag", 0) for ring in report.get("rings", {}).values())
        done = report.get("store_up") and not lag and not report.get("pending_rows") and not report.get("spill_batches")
        quiet = quiet + 1 if done else 0
        if quiet >= 2:
            return True
    return False


def _prefer_simulator(processes: Group, nice: int) -> bool:
    """Give the simulator (the exchanges: not ours to measure) scheduling priority ``nice`` (needs root for < 0),
    so on a busy machine it still offers the rate asked. False if it could not."""
    for pid, role in processes.processes().items():
        if role == "simulator" and nice:
            try:
                os.setpriority(os.PRIO_PROCESS, pid, nice)
                return True
            except OSError:
                return False
    return False


def _group_nice(env: dict[str, str], nice: int | None) -> bool:
    """Run the feeds and the aggregator at ``nice`` (None: the systemd units' -10, unless ``env`` already names
    theirs; 0: as started) by their config's environment; False when it is not done (0, the environment's own, or
    a value the kernel would refuse: no eleven logged refusals, the detail's ``wakeups.nice`` says what they ran at)."""
    names = ("TICKAGG__FEEDS__NICE", "TICKAGG__AGGREGATOR__NICE")
    if nice is None:
        if any(name in env for name in names):
            return False
        nice = UNITS_NICE
    for name in names:
        env.pop(name, None)
    if not nice or not may_set(nice):
        return False
    env.update(dict.fromkeys(names, str(nice)))
    return True


NAPS = ("TICKAGG__AGGREGATOR__MIN_SLEEP_US", "TICKAGG__AGGREGATOR__IDLE_SLEEP_US")


def _latency_settings(env: dict[str, str], feed_batch_wait_us: float | None, aggregator_nap_us: float | None) -> None:
    """The two settings that trade latency for CPU, when asked (None: the environment's or the defaults): the
    feeds' read batching wait (``feeds.batch_wait_us``) and the aggregator's naps while ticks flow (its
    ``min_sleep_us`` and ``idle_sleep_us`` both), given to the group by its config's environment."""
    if feed_batch_wait_us is not None:
        env.pop("TICKAGG_FEED_BATCH_WAIT_US", None)
        env["TICKAGG__FEEDS__BATCH_WAIT_US"] = f"{feed_batch_wait_us:g}"
    if aggregator_nap_us is not None:
        env.update(dict.fromkeys(NAPS, f"{aggregator_nap_us:g}"))


def _aggregator_naps_us(env: dict[str, str]) -> tuple[float, float]:
    """The aggregator's first nap after an empty look and its longest while ticks flow, as the group reads them
    from ``env`` (``TICKAGG__AGGREGATOR__MIN_SLEEP_US`` / ``..._IDLE_SLEEP_US``, else the defaults): a tick
    waits up to the nap running when it arrives."""
    from aggregator.pace import IDLE_SLEEP_US, MIN_SLEEP_US
    from tickagg import config

    given = config.load(None, env).defaults_for("aggregate")
    idle = given.get("idle_sleep_us", IDLE_SLEEP_US)
    return min(given.get("min_sleep_us", MIN_SLEEP_US), idle), idle


def e2e(rate: float = 80_000, seconds: float = 30.0, store_kind: str = "clickhouse", symbols: int = 2378,
        idle_seconds: float = 60.0, warmup: float = 5.0, seed: int = 1, simulator_nice: int = -5,
        closeout: bool = True, group_nice: int | None = None, feed_batch_wait_us: float | None = None,
        aggregator_nap_us: float | None = None) -> dict:
    from store import open_store

    workdir = tempfile.mkdtemp(prefix="tickagg-bench-e2e-")
    group = f"e2e{os.getpid()}"
    server = None
    run = None
    control = None
    try:
        if store_kind == "clickhouse":
            from bench.clickhouse_server import LocalServer

            server = LocalServer(os.path.join(workdir, "clickhouse")).start()
            url = server.url(database="e2e")
        else:
            url = f"chdb://{workdir}/chdb"
        data_dir = os.path.join(workdir, "data")
        control_port = _free_port()
        log = os.path.join(workdir, "run.log")
        from store.url import for_child

        shown_url, secret = for_child(url)  # the store password goes by environment, never on a command line
        argv = [sys.executable, "-m", "tickagg", "run", "--group", group, "--simulate", "--rate", f"{rate / 10:g}",
                "--universe", str(symbols), "--arrivals", "poisson", "--seed", str(seed),
                "--simulator-control-port", str(control_port), "--store", shown_url, "--data-dir", data_dir,
                "--status-every", "3600"]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
                   **secret)
        group_reniced = _group_nice(env, group_nice)
        _latency_settings(env, feed_batch_wait_us, aggregator_nap_us)
        phases = {}
        mark = time.monotonic()
        subprocess.run([sys.executable, "-m", "aggregator.main"], env=env, cwd=workdir, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1800)
        with open(log, "wb") as out:
            run = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=workdir)
        phases["warm_kernels"], mark = time.monotonic() - mark, time.monotonic()
        control = Control(control_port)
        _wait_for_trades(control, run, 180.0, log)
        phases["start_to_trades"] = time.monotonic() - mark
        processes = Group(run.pid)
        reniced = _prefer_simulator(processes, simulator_nice)
        time.sleep(warmup)

        # loaded window
        roles = processes.processes()
        server_pid = server.process.pid if server is not None else None
        t0, start_ns, cpu0, sent0 = time.monotonic(), time.time_ns(), processes.cpu(roles), control.sent()
        crowd0 = Snapshot(roles, server_pid)
        reads0 = feed_counters(group, sent0)
        status_path = report_path(os.path.join(data_dir, "writer"), group)
        inserts0 = insert_status(status_path)
        pss_samples = []
        while time.monotonic() - t0 < seconds:
            pss_samples.append(processes.pss())
            time.sleep(max(min(PSS_EVERY_S, seconds - (time.monotonic() - t0)), 0.0))
        roles = processes.processes()
        t1, end_ns, cpu1, sent1 = time.monotonic(), time.time_ns(), processes.cpu(roles), control.sent()
        crowd1 = Snapshot(roles, server_pid)
        crowd, woke = contention(crowd0, crowd1, t1 - t0), wakeup_figures(crowd0, crowd1, t1 - t0)
        reads1 = feed_counters(group, sent1)
        inserts = inserts_in_window(inserts0, insert_status(status_path), t1 - t0)
        loaded = cpu_pct(cpu0, cpu1, t1 - t0)
        gone = [pid for pid in cpu0 if pid not in cpu1]

        # close-out, then the idle window
        control.command(cmd="rate", rate=IDLE_RATE)
        time.sleep(SETTLE_S)
        roles = processes.processes()
        tc, cpuc = time.monotonic(), processes.cpu(roles)
        if closeout:
            time.sleep(closeout_wait_s(time.time()))
        roles = processes.processes()
        t2, cpu2 = time.monotonic(), processes.cpu(roles)
        closing = cpu_pct(cpuc, cpu2, t2 - tc) if t2 > tc else dict.fromkeys(ROLES, 0.0)
        time.sleep(idle_seconds)
        roles = processes.processes()
        t3, cpu3 = time.monotonic(), processes.cpu(roles)
        idle = cpu_pct(cpu2, cpu3, t3 - t2)

        control.command(cmd="pause")
        mark = time.monotonic()
        drained = _wait_drained(status_path)
        final = control.sent()
        control.close()
        control = None
        run.send_signal(signal.SIGINT)
        run.wait(120)
        phases["drain_and_stop"] = time.monotonic() - mark
        store = open_store(url)
        store.connect()
        try:
            from bench import e2e_store

            counts = e2e_store.accounting(store, {venue: v["trades"] for venue, v in final.items()})
            stored = e2e_store.stored_in(store, start_ns, end_ns)
            ticks = e2e_store.tick_latencies(store, start_ns, end_ns)
            store_p99, widened = e2e_store.store_latency_p99_ms(store, start_ns, end_ns)
            store_seconds = e2e_store.store_latency_seconds(store, start_ns, end_ns)
        finally:
            store.close()
        pss = {role: max(sample[role] for sample in pss_samples) for role in ROLES}
        offered = sum(sent1[v]["trades"] - sent0[v]["trades"] for v in sent1)
        window = (end_ns - start_ns) / 1e9
        return {
            "offered_per_s": round(offered / (t1 - t0), 1),
            "stored_per_s": round(stored / window, 1),
            "lost": counts["lost"],
            "duplicated": counts["duplicated"],
            "symbols": symbols,
            "cpu_pct_total": round(sum(loaded[role] for role in COUNTED), 2),
            "cpu_pct": {role: round(loaded[role], 2) for role in ROLES},
            "pss_mb_total": round(max(sum(sample[role] for role in COUNTED) for sample in pss_samples), 1),
            "pss_mb": {role: round(pss[role], 1) for role in ROLES},
            "idle_cpu_pct_total": round(sum(idle[role] for role in COUNTED), 2),
            "tick_to_signal_p50_ms": round(ticks["signal_p50"], 3),
            "tick_to_signal_p99_ms": round(ticks["signal_p99"], 3),
            "tick_to_storage_p99_ms": round(ticks["recv_p99"] + store_p99, 3),
            "_detail": {"store": store_kind, "rate": rate, "feed_batch_wait_us": default_wait_us(env),
                        "writer_batch_ms": writer_batch_ms(url, env),
                        "aggregator_naps_us": _aggregator_naps_us(env), "seconds": round(t1 - t0, 2), "idle_seconds": round(t3 - t2, 2),
                        "idle_cpu_pct": {role: round(idle[role], 2) for role in ROLES},
                        "closeout_s": round(t2 - tc, 2),
                        "closeout_cpu_pct": {role: round(closing[role], 2) for role in ROLES},
                        "feed_reads": reads_per_venue(reads0, reads1, t1 - t0),
                        "contention": crowd, "wakeups": woke, "exchange_to_recv_p99_ms": round(ticks["recv_p99"], 3),
                        "recv_to_pop_p99_ms": round(ticks["pop_p99"], 3),
                        "pop_to_signal_p99_ms": round(ticks["publish_p99"], 3),
                        "recv_to_store_p99_ms_estimated": round(store_p99, 3), "store_latency_window_widened": widened,
                        "recv_to_store_p99_ms_per_second": store_seconds,
                        "writer_inserts": inserts,
                        "simulator_blocked_s": {v: round(sent1[v]["blocked_s"] - sent0[v]["blocked_s"], 2) for v in sent1},
                        "arrivals_not_offered": sum(sent1[v]["skipped"] - sent0[v]["skipped"] for v in sent1),
                        "processes_gone_in_window": len(gone), "drained": drained, "simulator_reniced": reniced,
                        "group_reniced": group_reniced,
                        "phases_s": {name: round(value, 1) for name, value in phases.items()},
                        "loadavg_1min_at_end": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
                        "per_venue_sent_rows_distinct": counts["per_venue"], "pss_samples": len(pss_samples)},
        }
    finally:
        if control is not None:
            control.close()
        if run is not None and run.poll() is None:
            run.send_signal(signal.SIGINT)
            try:
                run.wait(60)
            except subprocess.TimeoutExpired:
                run.kill()
        if server is not None:
            server.stop()
        if run is not None and run.poll() is not None:  # the group is down: its rings go too
            from shm import segment
            from shm.names import group_segments

            for name in group_segments(group):
                segment.remove(name)
        if os.environ.get("TICKAGG_E2E_KEEP"):
            print(f"bench e2e: kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

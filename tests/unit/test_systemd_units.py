"""The systemd units: valid for systemd, hardened (exposure <= 4.0), and their command lines are the CLI's.

systemd is not running here (no PID 1 systemd in a container), so the checks use what works offline:
``systemd-analyze verify`` and ``systemd-analyze security --offline=true`` on copies of the unit files, and each
``ExecStart`` run through the real ``/bin/sh`` with the example environment file, where ``TICKAGG_BIN`` is a shim
that hands its arguments to the real ``tickagg`` argument parser (and so fails on any argument it rejects), with
the example deployment file (systemd/tickagg.toml.example) in place of /etc/tickagg/tickagg.toml.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "systemd"
SERVICES = ["tickagg-aggregate.service", "tickagg-write.service", "tickagg-feed@binance.service",
            "tickagg-metrics.service"]
MAX_EXPOSURE = 4.0
DEPLOYMENT = "/etc/tickagg/tickagg.toml"

needs_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")


def _copy_units(tmp_path: Path) -> Path:
    for unit in UNITS.glob("tickagg*"):
        shutil.copy(unit, tmp_path / unit.name)
    shutil.copy(UNITS / "tickagg-feed@.service", tmp_path / "tickagg-feed@binance.service")
    return tmp_path


@needs_analyze
def test_units_verify(tmp_path):
    units = _copy_units(tmp_path)
    names = [str(units / name) for name in SERVICES + ["tickagg.target"]]
    done = subprocess.run(["systemd-analyze", "verify", *names], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr


@needs_analyze
@pytest.mark.parametrize("service", SERVICES)
def test_unit_exposure_at_most_4(tmp_path, service):
    units = _copy_units(tmp_path)
    done = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", str(units / service)],
                          capture_output=True, text=True, timeout=60)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    assert found, done.stdout + done.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, done.stdout


def _environment_file() -> dict[str, str]:
    env = {}
    for line in (UNITS / "tickagg.env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    return env


def _shell_command(service: str, instance: str) -> str:
    """The string systemd hands to ``/bin/sh -c``: specifiers filled in, ``$$`` turned into ``$``, quotes removed."""
    text = (UNITS / service).read_text()
    line = re.search(r"^ExecStart=/bin/sh -c '(.*)'$", text, re.M)
    assert line, f"{service}: ExecStart is not /bin/sh -c '...'"
    command = line.group(1).replace("%i", instance).replace(DEPLOYMENT, str(UNITS / "tickagg.toml.example"))
    assert re.search(r"(?<!\$)\$(?!\$)", command) is None, f"{service}: a single $ would be expanded by systemd"
    return command.replace("$$", "$")


SHIM = """\
import json, sys
from tickagg.cli import _configured, build_parser
args = build_parser(sys.argv[1], _configured(sys.argv[1], sys.argv[2:])).parse_args(sys.argv[1:])
print(json.dumps({k: v for k, v in vars(args).items() if k not in ("run", "deployment")}, default=str))
if getattr(args, "deployment", None):  # the feed's venue part, as feed_command.run picks it
    print(json.dumps(args.deployment.venue_symbols(args.exchange)))
"""


def test_exec_start_takes_the_environment_over_the_file(tmp_path):
    shim = tmp_path / "tickagg"
    shim.write_text(f"#!{sys.executable}\n{SHIM}")
    shim.chmod(0o755)
    root = Path(__file__).resolve().parents[2]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root), **_environment_file(), "TICKAGG_BIN": str(shim),
           "TICKAGG_GROUP": "fromenv", "TICKAGG__WRITER__BATCH_ROWS": "77"}
    done = subprocess.run(["/bin/sh", "-c", _shell_command("tickagg-write.service", "")], env=env,
                          capture_output=True, text=True, timeout=60, cwd=root)
    assert done.returncode == 0, done.stderr
    parsed = json.loads(done.stdout.splitlines()[0])
    assert (parsed["group"], parsed["batch_rows"]) == ("fromenv", 77)


@pytest.mark.parametrize("service,instance", [("tickagg-aggregate.service", ""), ("tickagg-write.service", ""),
                                              ("tickagg-feed@.service", "binance"),
                                              ("tickagg-feed@.service", "kraken"),
                                              ("tickagg-metrics.service", "")])
def test_exec_start_is_accepted_by_the_cli(tmp_path, service, instance):
    shim = tmp_path / "tickagg"
    shim.write_text(f"#!{sys.executable}\n{SHIM}")
    shim.chmod(0o755)
    root = Path(__file__).resolve().parents[2]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root), **_environment_file(), "TICKAGG_BIN": str(shim)}
    done = subprocess.run(["/bin/sh", "-c", _shell_command(service, instance)], env=env,
                          capture_output=True, text=True, timeout=60, cwd=root)
    assert done.returncode == 0, done.stderr
    parsed, *venue = [json.loads(line) for line in done.stdout.splitlines()]
    assert parsed["config"] == str(UNITS / "tickagg.toml.example"), f"{service} does not read {DEPLOYMENT}"
    if service == "tickagg-metrics.service":  # `tickagg status --serve` takes its group from the file when it runs
        assert parsed["serve"] == ["127.0.0.1", 9464] and parsed["state_dir"] == "/var/lib/tickagg/writer"
        return
    assert parsed["group"] == "default"  # from the file
    if service == "tickagg-write.service":  # the example file sets the writer's spill policy
        assert parsed["spill_full"] == "drop-oldest" and parsed["batch_ms"] == 50.0
    if instance:  # the example file names each venue's symbols (a filter): the feed reads them from it
        import tomllib
        assert venue == [tomllib.loads((UNITS / "tickagg.toml.example").read_text())["venues"][instance]["symbols"]]


def test_units_run_as_a_dedicated_user_without_privileges():
    for service in ["tickagg-aggregate.service", "tickagg-write.service", "tickagg-feed@.service",
                    "tickagg-metrics.service"]:
        text = (UNITS / service).read_text()
        for setting in ["User=tickagg", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n", "ProtectSystem=strict",
                        "UMask=0077"]:
            assert setting in text, f"{service} lacks {setting.strip()}"


def test_the_latency_stages_run_at_the_nice_value_the_bench_measures():
    from tickagg.priority import UNITS_NICE

    for service, nice in [("tickagg-aggregate.service", UNITS_NICE), ("tickagg-feed@.service", UNITS_NICE),
                          ("tickagg-write.service", None), ("tickagg-metrics.service", None)]:
        found = re.findall(r"^Nice=(-?\d+)$", (UNITS / service).read_text(), re.M)
        assert found == ([] if nice is None else [str(nice)]), service

"""`walkway install-systemd`: render the units in edge/systemd/ for this machine and install them.

The shipped units name `/usr/local/bin/walkway` and `/var/lib/walkway/node.toml`; both are
replaced by the real executable and config. Also installed: the `walkway` user
(sysusers.d) and a polkit rule letting that user restart walkway-* units (the `restart`
and `set-config` remote commands). With --root other than / nothing is started.
"""

import shutil
import subprocess
import sys
from pathlib import Path

from walkway.files import write_atomic
from walkway.resources import package_file

UNIT_DIR = package_file("edge", "systemd")  # shipped in the wheel
NODE_UNITS = ("walkway-edge.service", "walkway-bridge.service", "walkway-signage.service")
COLLECTOR_UNITS = ("walkway-collector.service",)
DEFAULT_EXE = "/usr/local/bin/walkway"
DEFAULT_CONFIG = "/var/lib/walkway/node.toml"


def walkway_executable() -> str:
    found = shutil.which("walkway")
    if found:
        return str(Path(found).resolve())
    candidate = Path(sys.executable).with_name("walkway")
    return str(candidate) if candidate.exists() else DEFAULT_EXE


def render(unit: str, exe: str, config: str, broker: str | None = None) -> str:
    text = (UNIT_DIR / unit).read_text()
    text = text.replace(DEFAULT_EXE, exe).replace(DEFAULT_CONFIG, config)
    if broker:
        text = text.replace("--broker mqtt://127.0.0.1:1883", f"--broker {broker}")
    return text


def verify(paths: list[Path]) -> tuple[bool, str]:
    """`systemd-analyze verify`; (True, "not available") where systemd is not installed."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        return True, "systemd-analyze not available: not verified"
    done = subprocess.run([tool, "verify", *map(str, paths)], capture_output=True, text=True,
                          timeout=60)
    problems = (done.stderr + done.stdout).strip()
    return done.returncode == 0 and not problems, problems or "verified"


def install(*, root: Path, exe: str, config: str, units: tuple[str, ...],
            broker: str | None = None, enable: bool = False,
            dry_run: bool = False) -> dict:
    unit_dir = root / "etc/systemd/system"
    plan = {unit_dir / u: render(u, exe, config, broker) for u in units}
    if any(u in NODE_UNITS for u in units):
        plan[root / "etc/sysusers.d/walkway.conf"] = (UNIT_DIR / "walkway.sysusers.conf"
                                                      ).read_text()
        plan[root / "etc/polkit-1/rules.d/50-walkway.rules"] = (UNIT_DIR / "50-walkway.rules"
                                                                ).read_text()
    report: dict = {"files": [str(p) for p in plan], "executable": exe, "config": config,
                    "ran": []}
    if dry_run:
        report["verified"], report["verify_output"] = None, "dry run"
        return report
    for path, text in plan.items():
        write_atomic(path, text)
    report["verified"], report["verify_output"] = verify([unit_dir / u for u in units])
    if root == Path("/"):
        steps = [["systemd-sysusers"], ["systemctl", "daemon-reload"]]
        if enable:
            steps.append(["systemctl", "enable", "--now", *units])
        for argv in steps:
            subprocess.run(argv, check=True, timeout=120)
            report["ran"].append(" ".join(argv))
    return report

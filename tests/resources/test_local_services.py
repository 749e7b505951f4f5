import os
import subprocess
import sys
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import sys
import sqlalchemy as sa
from resources.definitions import platform_resources
engine = platform_resources("card")["warehouse"].get_engine()
with engine.connect() as conn:
    print("answer", conn.execute(sa.text("SELECT 6 * 7")).scalar())
sys.exit(3)
"""


def _postgres_running(pg_dir: Path) -> bool:
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if any(part.endswith("bin/postgres") for part in cmdline[:1]) and str(pg_dir) in cmdline:
            return True
    return False


def test_command_runs_against_the_embedded_server_which_stops_afterwards(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("WAREHOUSE_URL", "PLATFORM_ENV")}
    env["PLATFORM_HOME"] = str(tmp_path / "home")
    completed = subprocess.run(
        [sys.executable, "-m", "resources.local_services", "--", sys.executable, "-c", CHILD],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 3, completed.stderr[-2000:]
    assert "embedded PostgreSQL ready" in completed.stdout
    assert "answer 42" in completed.stdout
    assert not _postgres_running(tmp_path / "home" / "pg")

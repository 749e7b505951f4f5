"""`python -m resources.local_services -- CMD ...`: run CMD with the embedded services up.

Used by `make demo` and `make dev`. With WAREHOUSE_URL unset, the embedded PostgreSQL is started
(or attached to) first and held while CMD runs, so every run worker attaches to one server instead
of starting its own; the server stops when the last process holding it exits.
"""

import signal
import subprocess
import sys
import warnings

from resources.embedded_pg import embedded_postgres_url
from resources.settings import load_settings


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def main(argv: list[str]) -> int:
    """Run a command while holding the embedded server (no-op when WAREHOUSE_URL is set)."""
    if argv and argv[0] == "--":
        argv = argv[1:]
    settings = load_settings()
    if not settings.warehouse_url:
        with warnings.catch_warnings():  # platformdirs: "XDG_RUNTIME_DIR is not set" (harmless)
            warnings.simplefilter("ignore")
            url = embedded_postgres_url(settings.home / "pg")
        print(f"embedded PostgreSQL ready: {url.split('?')[0]} (data in {settings.home / 'pg'})")
    if not argv:
        return 0
    # A command started from a background job inherits an ignored SIGINT, and Dagster maps SIGTERM
    # onto the SIGINT handler: give the child the default handler so both stop it cleanly.
    child = subprocess.Popen(argv, preexec_fn=_default_sigint)
    # Ctrl-C reaches the child through the terminal's process group: wait for it to finish.
    # SIGTERM (a service manager stopping us) is passed on. Either way this process then exits
    # normally, so the embedded server is stopped when its last user is gone.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signum))
    return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Start the studio's Streamlit server: localhost only, offline, no statistics, no deploy menu."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from outcome_gym.errors import InputError

APP = Path(__file__).with_name("app.py")
SERVER_FLAGS = {
    "server.address": "127.0.0.1",         # localhost unless the designer asks otherwise
    "server.headless": "true",             # never opens a browser on a server; prints the URL
    "browser.gatherUsageStats": "false",   # no usage statistics leave the machine
    "client.toolbarMode": "viewer",        # no deploy/hosting menu
    "server.fileWatcherType": "none",      # the installed package does not change under us
    "global.developmentMode": "false",
    "theme.base": "light",
}


def streamlit_command(port: int = 8501, address: str = "127.0.0.1") -> list[str]:
    """The command line that serves the studio page.

    It is ``streamlit run app.py FLAGS`` after the page's imports are warm
    (:mod:`outcome_gym.studio.serve`).
    """
    flags = {**SERVER_FLAGS, "server.address": address, "server.port": str(port)}
    return [sys.executable, "-m", "outcome_gym.studio.serve",
            *[f"--{k}={v}" for k, v in flags.items()]]


def launch(scenario: str | None = None, *, workdir: str | Path | None = None, port: int = 8501,
           address: str = "127.0.0.1") -> int:
    """Serve the studio until interrupted; return the server's exit code.

    Args:
        scenario: A bundled scenario name or a file to open first (default: the first bundled).
        workdir: Where the studio keeps drafts and finished comparisons.
        port: The local port.
        address: The address to bind (localhost by default).

    Raises:
        InputError: Streamlit is not installed (the ``studio`` extra).
    """
    try:
        import streamlit  # noqa: F401
    except ImportError as exc:
        raise InputError.one('the studio needs Streamlit: pip install "outcome-gym[studio]"') \
            from exc
    env = dict(os.environ)
    if scenario:
        env["OUTCOME_GYM_STUDIO_SCENARIO"] = str(Path(scenario).resolve()) \
            if Path(scenario).exists() else scenario
    if workdir:
        env["OUTCOME_GYM_STUDIO_HOME"] = str(Path(workdir).resolve())
    try:
        return subprocess.call(streamlit_command(port, address), env=env)
    except KeyboardInterrupt:
        return 130

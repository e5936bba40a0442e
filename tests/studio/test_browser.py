"""The studio in a real browser: Debian's Chromium driven by Playwright against a live server.

Open the page, change a guardrail, run a 3-seed comparison, see the verdict table and a figure,
download the YAML and validate it with the CLI. The screenshot is kept as a test artefact
(``$OUTCOME_GYM_TEST_ARTIFACTS``, default the test's tmp folder). CI installs chromium with
apt-get (.ci/run); no browser is downloaded at test time.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outcome_gym.cli import app
from outcome_gym.studio.launch import streamlit_command
from tests.studio.conftest import SMALL

pytestmark = pytest.mark.slow
CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "")
                 if p and Path(p).exists()), None)


def _need(ok: bool, what: str) -> None:
    if not ok:  # CI installs both: there a missing one is a failure, not a skip
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"{what} is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """A studio server on a free localhost port, on a small copy of the tiny world."""
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    port = _free_port()
    env = {**os.environ, "OUTCOME_GYM_STUDIO_HOME": str(tmp_path / "home"),
           "OUTCOME_GYM_STUDIO_SCENARIO": str(scenario)}
    proc = subprocess.Popen(streamlit_command(port), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the studio server did not come up in 60 s"
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def test_designer_journey_in_a_real_browser(server, tmp_path):
    _need(CHROMIUM is not None, "chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api") if not os.environ.get("CI") else \
        __import__("playwright.sync_api", fromlist=["sync_playwright"])
    artefacts = Path(os.environ.get("OUTCOME_GYM_TEST_ARTIFACTS", tmp_path))
    artefacts.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        start = time.monotonic()
        page.goto(server)
        page.get_by_text("small: valid (checked in").wait_for(timeout=30_000)
        first_render = time.monotonic() - start
        assert page.get_by_text("Deploy").count() == 0  # no hosting menu
        # change a guardrail: the check runs again and the draft keeps it
        page.get_by_text("Lock the core").click()
        page.wait_for_timeout(1500)
        assert "lock_core: false" in (tmp_path / "home" / "drafts" / "small.yaml").read_text()
        # a 3-seed comparison of one policy against static
        page.get_by_role("tab", name="Policies & run").click()
        page.get_by_label("Paired seeds").fill("3")
        page.get_by_label("Paired seeds").press("Enter")
        page.wait_for_timeout(1000)
        page.get_by_role("button", name="Run comparison").click()
        page.get_by_text("Finished:").first.wait_for(timeout=240_000)
        page.get_by_role("tab", name="Results").click()
        page.locator("[data-testid='stDataFrame']:visible").first.wait_for(timeout=30_000)
        page.locator("[data-testid='stImage'] img:visible").nth(1).wait_for(timeout=30_000)
        # the verdicts compare wrote are the ones the page shows (the headline's "→ verdict")
        summary = next((tmp_path / "home" / "comparisons").glob("*/out/summary.json"))
        verdicts = {v["verdict"] for v in json.loads(summary.read_text())["verdicts"].values()}
        for verdict in verdicts:
            assert page.get_by_text(f"→ {verdict} (rule").count() > 0, verdict
        page.screenshot(path=str(artefacts / "studio.png"), full_page=True)
        # download the YAML and validate it with the CLI
        page.get_by_role("tab", name="Scenario").click()
        page.get_by_text("YAML", exact=True).click()
        # on a loaded machine the tab's rerun can take longer than playwright's default 30 s
        download = page.get_by_role("button", name="Download YAML")
        download.wait_for(timeout=120_000)
        with page.expect_download(timeout=120_000) as dl:
            download.click()
        saved = tmp_path / "downloaded.yaml"
        dl.value.save_as(saved)
        browser.close()
    assert "lock_core: false" in saved.read_text()
    assert CliRunner().invoke(app, ["validate", str(saved)]).exit_code == 0
    (artefacts / "studio-timings.txt").write_text(f"first render {first_render:.2f} s\n")

"""The studio's numbers (issue #16), measured in one run on this machine.

* first render: server up -> the page shows the checked scenario (a real browser when Playwright
  and Chromium are installed, else Streamlit's AppTest, said in the output);
* an edit's re-validation: the CLI's check of each bundled scenario's text (median of repeats);
* a comparison through the page's job (``outcome-gym compare`` in the background) against the same
  comparison run by the CLI directly: time to the first progress report and wall time (ratio).

    python benchmarks/bench_studio.py            # productivity_tool, 3 policies x 10 seeds
    python benchmarks/bench_studio.py --quick    # the tiny fixture, 2 seeds (a smoke run)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from outcome_gym.scenario.loading import bundled_scenarios
from outcome_gym.studio.draft import check_text
from outcome_gym.studio.jobs import Jobs, Request

ROOT = Path(__file__).resolve().parents[1]


def revalidation_ms(repeats: int = 20) -> dict[str, float]:
    """Median milliseconds to check each bundled scenario's text (what an edit costs)."""
    out = {}
    for name, path in bundled_scenarios().items():
        text = path.read_text()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            assert check_text(text).ok
            times.append((time.perf_counter() - t0) * 1000)
        out[name] = statistics.median(times)
    return out


def first_render_s(scenario: str) -> tuple[float, str]:
    """Seconds from a live server to the checked scenario on the page, and how it was measured."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    chromium = next((p for p in ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
                     if Path(p).exists()), None)
    if sync_playwright is None or chromium is None:
        from streamlit.testing.v1 import AppTest

        from outcome_gym.studio.launch import APP

        os.environ["OUTCOME_GYM_STUDIO_SCENARIO"] = scenario
        t0 = time.perf_counter()
        AppTest.from_file(str(APP), default_timeout=60).run()
        return time.perf_counter() - t0, "AppTest (no browser here)"
    sys.path.insert(0, str(ROOT))
    from tests.studio.test_browser import _free_port  # the test's own helper

    from outcome_gym.studio.launch import streamlit_command

    port = _free_port()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "OUTCOME_GYM_STUDIO_HOME": home,
               "OUTCOME_GYM_STUDIO_SCENARIO": scenario}
        proc = subprocess.Popen(streamlit_command(port), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            import urllib.request
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                page = browser.new_page()
                t0 = time.perf_counter()
                page.goto(f"http://127.0.0.1:{port}")
                page.get_by_text("valid (checked in").wait_for(timeout=60_000)
                seconds = time.perf_counter() - t0
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    return seconds, "Chromium via Playwright"


def compare_times(scenario: Path, policies: list[str], seeds: int,
                  workers: int) -> tuple[float, float, float]:
    """(seconds to the first progress report, wall time via the page's job, via the CLI)."""
    text = scenario.read_text()
    with tempfile.TemporaryDirectory() as home:
        job = Jobs(Path(home)).get(Request(text, tuple(policies), "static", seeds))
        t0 = time.perf_counter()
        job.start(workers)
        while job.state != "running":
            time.sleep(0.01)
        first = time.perf_counter() - t0
        while job.state == "running":
            time.sleep(0.05)
        page_wall = time.perf_counter() - t0
        assert job.state == "finished", job.error
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "outcome_gym", "compare", str(scenario),
                        "--policies", ",".join(policies), "--reference", "static",
                        "--seeds", str(seeds), "--workers", str(workers), "--out",
                        str(Path(out) / "c"), "--no-progress", "--json"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cli_wall = time.perf_counter() - t0
    return first, page_wall, cli_wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the tiny fixture, 2 seeds")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name, ms in revalidation_ms().items():
        print(f"re-validation of {name}: {ms:.0f} ms (target <= 300 ms)")
    if args.quick:
        scenario, policies, seeds = ROOT / "tests/fixtures/tiny.yaml", ["random"], 2
    else:
        scenario = bundled_scenarios()["productivity_tool"]
        policies, seeds = ["engagement_bandit", "outcome_bandit", "random"], 10
    seconds, how = first_render_s(str(scenario))
    print(f"first render: {seconds:.2f} s ({how}; target <= 3 s)")
    first, page_wall, cli_wall = compare_times(scenario, policies, seeds, args.workers)
    print(f"compare {scenario.stem}, {len(policies)} policies x {seeds} seeds vs static, "
          f"{args.workers} workers: progress shown after {first:.2f} s (target <= 1 s); "
          f"page {page_wall:.1f} s vs CLI {cli_wall:.1f} s = {page_wall / cli_wall:.2f}x "
          "(target <= 1.2x)")


if __name__ == "__main__":
    main()

"""The report kit: tables and their escaping, atomic files and folders, pyplot only when drawing."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from outcome_gym._io import MARKER, atomic_dir, atomic_write
from outcome_gym.errors import ResultsError
from outcome_gym.report.style import PALETTE, color, page_start
from outcome_gym.report.tables import md_table
from tests.conftest import REPO, variant


def test_md_table_escapes_pipes_and_folds_line_breaks():
    text = md_table(["a|b", "c"], [["x|y", "two\nlines"], [1.5, None]])
    assert text.splitlines() == ["| a\\|b | c |", "|---|---|", "| x\\|y | two lines |",
                                 "| 1.5 | None |"]
    assert md_table(["only"], []) == "| only |\n|---|"


def test_palette_repeats_and_page_title_is_escaped():
    assert color(0) == color(8) == PALETTE[0] == "#0072B2"  # Okabe-Ito's blue; eight colours
    assert "<title>a &lt;b&gt;</title>" in page_start("a <b>")


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if ".tmp-" in p.name]


def test_atomic_write_replaces_whole_files_with_ordinary_permissions(tmp_path):
    path = tmp_path / "sub" / "report.md"
    atomic_write(path, "first\n")
    atomic_write(path, "zweite – ✓\n")
    assert path.read_bytes() == "zweite – ✓\n".encode()
    atomic_write(path, b"\x89PNG")
    assert path.read_bytes() == b"\x89PNG"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # not tempfile's private 0600
    assert _leftovers(path.parent) == []


def test_failed_atomic_write_keeps_the_old_file_and_leaves_nothing(tmp_path, monkeypatch):
    path = tmp_path / "report.md"
    path.write_text("old")

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("outcome_gym._io.os.replace", fail)
    with pytest.raises(ResultsError, match=r"cannot write report to .*report.md: .*No space"):
        atomic_write(path, "new")
    assert path.read_text() == "old" and _leftovers(tmp_path) == []


def test_atomic_dir_gets_ordinary_permissions(tmp_path):
    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "a.txt").write_text("a")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o777 & ~umask
    assert _leftovers(tmp_path) == []


def _python(code):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "src"), str(REPO)]))
    env.pop("MPLBACKEND", None)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def test_importing_never_imports_pyplot_drawing_selects_agg():
    code = ("import sys, outcome_gym, outcome_gym.report, outcome_gym.report.render, "
            "outcome_gym.report.sweep, outcome_gym.report.check, outcome_gym.report.study\n"
            "print('matplotlib.pyplot' in sys.modules)\n"
            "from outcome_gym.report.figures import pyplot\n"
            "import matplotlib\n"
            "pyplot()\n"
            "print(matplotlib.get_backend().lower())")
    assert _python(code).split() == ["False", "agg"]


def test_compare_report_leaves_runs_and_replaces_figures_whole(tmp_path, tiny):
    from outcome_gym import compare

    sc = variant(tiny, **{"population.size": 30, "clock.horizon_days": 2})
    cmp = compare(sc, ["static", "random"], seeds=2)
    out = tmp_path / "cmp"
    cmp.write(out)
    (out / "runs").mkdir()
    (out / "runs" / "keep.txt").write_text("mine")
    # an earlier report's figure that is no longer drawn (listed in the figures' marker)
    (out / "figures" / "stale.png").write_bytes(b"old")
    marker = out / "figures" / MARKER
    marker.write_text(marker.read_text().replace('"attention.png"', '"attention.png", "stale.png"'))
    with pytest.raises(ResultsError, match="--overwrite"):
        cmp.write(out)
    cmp.write(out, overwrite=True)
    assert (out / "runs" / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in (out / "figures").iterdir()) == [
        MARKER, "attention.png", "engagement.png", "fragmentation.png", "outcomes.png",
        "timeseries.png", "trap_quadrant.png"]
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "daily.csv", "figures",
                                                     "report.html", "report.md", "runs",
                                                     "runs.csv", "summary.json"]


def test_md_table_align_pads_columns():
    text = md_table(["a", "bbbb"], [["x|y", "z"], [1.5, None]], align=True)
    assert text.splitlines() == ["| a    | bbbb |", "|------|------|", "| x\\|y | z    |",
                                 "| 1.5  | None |"]

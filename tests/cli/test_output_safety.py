"""Output safety: a command writes only inside --out and deletes only what it wrote itself."""

from __future__ import annotations

import json
import os
import stat

import pytest
from typer.testing import CliRunner

from outcome_gym._io import MARKER, atomic_dir, check_out_dir, claim_dir
from outcome_gym.cli import app
from outcome_gym.errors import ResultsError
from tests.conftest import TINY

runner = CliRunner()
RUN = ["run", str(TINY), "--quiet"]


def _one_line_error(res, *words):
    assert res.exit_code == 2, res.output
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in res.output, res.output
    for word in words:
        assert word in lines[0], lines[0]


def test_run_out_dot_keeps_the_users_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    res = runner.invoke(app, [*RUN, "--out", "."])
    _one_line_error(res, "refusing", "not an outcome-gym output folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_run_out_dot_in_an_empty_folder_writes_there(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, [*RUN, "--out", "."])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "steps.parquet").is_file()
    assert json.loads((tmp_path / MARKER).read_text())["kind"] == "run"
    assert not [p for p in tmp_path.parent.iterdir() if ".tmp-" in p.name]


def test_run_refuses_a_foreign_non_empty_folder(tmp_path):
    out = tmp_path / "stuff"
    out.mkdir()
    (out / "thesis.docx").write_text("years of work")
    for extra in ([], ["--overwrite"]):
        res = runner.invoke(app, [*RUN, "--out", str(out), *extra])
        _one_line_error(res, str(out))
    assert sorted(p.name for p in out.iterdir()) == ["thesis.docx"]


def test_rerun_into_own_folder_needs_overwrite_and_keeps_other_files(tmp_path):
    out = tmp_path / "run"
    assert runner.invoke(app, [*RUN, "--out", str(out)]).exit_code == 0
    (out / "my_notes.txt").write_text("keep me")
    res = runner.invoke(app, [*RUN, "--out", str(out)])
    _one_line_error(res, str(out), "--overwrite")
    res = runner.invoke(app, [*RUN, "--out", str(out), "--overwrite", "--seed", "3"])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "manifest.json").read_text())["seed"] == 3
    assert (out / "my_notes.txt").read_text() == "keep me"
    assert not [p for p in out.iterdir() if ".tmp-" in p.name]


def test_out_naming_a_file_is_one_line(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("x")
    _one_line_error(runner.invoke(app, [*RUN, "--out", str(f)]), str(f), "is a file")
    res = runner.invoke(app, ["compare", str(TINY), "--seeds", "2", "--quiet", "--out", str(f)])
    _one_line_error(res, str(f), "is a file")
    assert f.read_text() == "x"


def test_compare_refuses_foreign_folder_before_running(tmp_path):
    out = tmp_path / "cmp"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    res = runner.invoke(app, ["compare", str(TINY), "--seeds", "2", "--quiet", "--out", str(out)])
    _one_line_error(res, "refusing", str(out))
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_other_kind_of_output_is_refused(tmp_path):
    out = claim_dir(tmp_path / "s", "sweep")
    (out / "runs").mkdir()
    with pytest.raises(ResultsError, match="sweep output, not run output"):
        check_out_dir(out, "run", overwrite=True)


def test_atomic_dir_replaces_only_what_it_listed(tmp_path):
    out = tmp_path / "o"
    with atomic_dir(out, kind="figures") as tmp:
        (tmp / "a.png").write_bytes(b"a")
        (tmp / "old.png").write_bytes(b"o")
    (out / "user.txt").write_text("u")
    with atomic_dir(out, kind="figures", overwrite=True) as tmp:
        (tmp / "a.png").write_bytes(b"A")
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "a.png", "user.txt"]
    assert (out / "a.png").read_bytes() == b"A"


def test_a_failed_block_leaves_the_earlier_output(tmp_path):
    out = tmp_path / "o"
    with atomic_dir(out, kind="run") as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(RuntimeError), atomic_dir(out, kind="run", overwrite=True) as tmp:
        (tmp / "a").write_text("2")
        raise RuntimeError
    assert (out / "a").read_text() == "1"
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "a"]


def test_claimed_folders_get_the_umask(tmp_path):
    out = claim_dir(tmp_path / "c" / "d", "compare")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask

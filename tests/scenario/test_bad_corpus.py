"""Every file in tests/bad_scenarios/ is rejected with a typed error and a readable message.

tests/bad_scenarios/expected.yaml says, per file, which error class to expect, substrings the
problems must contain and, where it matters, the line one of them must point at. The loader must
reject each file within a second and without large memory, both through the Python API and
through ``outcome-gym validate`` (exit code 2, one stderr line per problem). The seconds are this
process's CPU seconds (``time.process_time``): a guard against work that grows with a huge input,
not a speed claim, so it must not fail because other jobs share the machine.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import tracemalloc
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outcome_gym import errors
from outcome_gym.cli import app
from outcome_gym.errors import (
    OutcomeGymError,
    ScenarioError,
    ScenarioFileError,
    ScenarioValidationError,
)
from outcome_gym.scenario import load_scenario, parse_scenario

from .helpers import BAD_DIR, FIXTURE, corpus_files, file_id, good_files, manifest

FILES = corpus_files()
MANIFEST = manifest()
GOOD = good_files()
MAX_SECONDS = 1.0
MAX_PEAK_BYTES = 64 * 1024 * 1024
# Words from the libraries underneath that must never reach a designer.
JARGON = (
    "Traceback",
    "Input should",
    "Value error",
    "pydantic",
    "errors.pydantic.dev",
    "String should match",
    "dictionary",
    "MarkedYAMLError",
    "tagged-union",
    "function-after",
)

runner = CliRunner()


@cache
def _load_error(path: Path) -> ScenarioError:
    """The error loading ``path`` raises (cached: several tests inspect the same one)."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value


# --- the corpus and its manifest ---------------------------------------------------------------


def test_corpus_is_large_enough() -> None:
    assert len(FILES) >= 45


def test_manifest_lists_every_file_and_only_them() -> None:
    names = {p.name for p in FILES}
    assert sorted(names - set(MANIFEST)) == [], "files missing from expected.yaml"
    assert sorted(set(MANIFEST) - names) == [], "expected.yaml names files that do not exist"


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_manifest_entry_is_well_formed(name: str) -> None:
    entry = MANIFEST[name]
    assert set(entry) <= {"what", "error", "contains", "line"}
    assert entry["error"] in ("ScenarioFileError", "ScenarioValidationError")
    assert isinstance(entry["contains"], list)
    assert entry["contains"]
    assert all(isinstance(s, str) and s for s in entry["contains"])
    assert isinstance(entry.get("line", 1), int)
    assert isinstance(entry.get("what", ""), str)


def test_no_large_file_is_committed() -> None:
    sizes = {p.name: p.stat().st_size for p in FILES}
    assert max(sizes.values()) < 64 * 1024, sizes


def test_corpus_holds_the_junk_it_promises() -> None:
    raw = {p.name: p.read_bytes() for p in FILES}
    assert any(b"\x00" in data for data in raw.values()), "a file with NUL bytes"
    assert b"" in raw.values(), "an empty file"
    assert any(data and not data.strip() for data in raw.values()), "a whitespace-only file"

    def is_utf8(data: bytes) -> bool:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True

    assert any(b"\x00" not in d and not is_utf8(d) for d in raw.values()), "invalid UTF-8"
    both = {entry["error"] for entry in MANIFEST.values()}
    assert both == {"ScenarioFileError", "ScenarioValidationError"}


# --- each file through the Python API ----------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=file_id)
def test_bad_file_raises_the_expected_typed_error(path: Path) -> None:
    entry = MANIFEST[path.name]
    exc = _load_error(path)

    expected_class = getattr(errors, entry["error"])
    assert type(exc) is expected_class
    assert isinstance(exc, ScenarioError)
    assert isinstance(exc, OutcomeGymError)
    assert exc.problems, "an error without problems"

    text = "\n".join(str(p) for p in exc.problems)
    assert str(exc) == text
    for needle in entry["contains"]:
        assert needle in text, f"{needle!r} not in:\n{text}"
    if "line" in entry:
        assert entry["line"] in [p.line for p in exc.problems], text


@pytest.mark.parametrize("path", FILES, ids=file_id)
def test_bad_file_problems_are_complete_and_readable(path: Path) -> None:
    exc = _load_error(path)
    n_lines = path.read_bytes().count(b"\n") + 1
    for problem in exc.problems:
        line = str(problem)
        assert problem.file == str(path)
        assert line.startswith(str(path))
        assert "\n" not in line, "one problem, one line"
        assert problem.message.strip()
        assert "expected" in problem.message, "messages say what was expected"
        for word in JARGON:
            assert word not in line, f"{word!r} leaked into: {line}"
        if problem.line is not None:
            assert 1 <= problem.line <= n_lines
            assert line.startswith(f"{path}:{problem.line}:")
        if isinstance(exc, ScenarioValidationError):
            # Content problems always name the key path and the line it is on.
            assert problem.path, line
            assert problem.line is not None, line
            assert f" {problem.path}: " in line
    # The error stands alone: no chained pydantic or YAML traceback behind it.
    assert exc.__cause__ is None
    assert exc.__context__ is None or exc.__suppress_context__


@pytest.mark.parametrize("path", FILES, ids=file_id)
def test_bad_file_is_rejected_fast_and_with_little_memory(path: Path) -> None:
    start = time.process_time()
    with pytest.raises(ScenarioError):
        load_scenario(path)
    elapsed = time.process_time() - start
    assert elapsed < MAX_SECONDS, f"{elapsed:.2f} s"

    tracemalloc.start()
    try:
        with pytest.raises(ScenarioError):
            load_scenario(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MAX_PEAK_BYTES, f"peak {peak / 2**20:.1f} MiB"


# --- huge inputs are generated, never committed ------------------------------------------------


def _write_big_file(path: Path, megabytes: int) -> None:
    line = "# " + "x" * 1021 + "\n"  # 1 KiB of comment per line
    block = line * 1024
    with path.open("w", encoding="utf-8") as f:
        f.write(FIXTURE.read_text(encoding="utf-8"))
        for _ in range(megabytes):
            f.write(block)


@pytest.fixture(scope="module")
def fifty_megabytes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("huge") / "fifty_megabytes.yaml"
    _write_big_file(path, 50)
    assert path.stat().st_size >= 50 * 2**20
    return path


def test_fifty_megabyte_file_is_rejected_fast_with_low_memory(fifty_megabytes: Path) -> None:
    tracemalloc.start()
    start = time.process_time()
    try:
        with pytest.raises(ScenarioFileError, match="expected a file of at most") as info:
            load_scenario(fifty_megabytes)
        elapsed = time.process_time() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < MAX_SECONDS
    assert peak < MAX_PEAK_BYTES
    assert info.value.problems[0].file == str(fifty_megabytes)
    assert "KiB" in str(info.value)


def test_fifty_megabytes_of_text_is_rejected_before_parsing() -> None:
    text = "name: tiny\n" + "#" * (50 * 2**20) + "\n"
    start = time.process_time()
    with pytest.raises(ScenarioFileError, match="KiB of text"):
        parse_scenario(text, file="big.yaml")
    assert time.process_time() - start < MAX_SECONDS


def test_many_small_values_under_the_size_cap_stop_early(tmp_path: Path) -> None:
    # ~1.2 MB of one-character list items: below the byte cap, far above the value cap.
    n_items = 300_000
    path = tmp_path / "many_values.yaml"
    path.write_text("name: tiny\nfoo:\n" + "- 1\n" * n_items, encoding="utf-8")
    start = time.process_time()
    with pytest.raises(ScenarioFileError, match="values") as info:
        load_scenario(path)
    elapsed = time.process_time() - start
    # Reading stopped at the value cap, long before the end of the file ...
    (problem,) = info.value.problems
    assert problem.line is not None
    assert problem.line < n_items / 3
    # ... so that even pure-Python YAML parsing stays near a second (generous bound for CI).
    assert elapsed < 5 * MAX_SECONDS


# --- the command line --------------------------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=file_id)
def test_cli_rejects_bad_file_with_one_line_per_problem(path: Path) -> None:
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[-1] == "1 of 1 file(s) invalid"
    exc = _load_error(path)
    assert lines[:-1] == [str(p) for p in exc.problems]
    assert "Traceback" not in result.stderr


def test_cli_rejects_the_whole_corpus_at_once() -> None:
    result = runner.invoke(app, ["validate", *map(str, FILES)])
    assert result.exit_code == 2
    n_problems = sum(len(_load_error(p).problems) for p in FILES)
    lines = result.stderr.splitlines()
    assert len(lines) == n_problems + 1
    assert lines[-1] == f"{len(FILES)} of {len(FILES)} file(s) invalid"
    # Every line names its file, so a long run stays greppable.
    assert all(any(line.startswith(str(p)) for p in FILES) for line in lines[:-1])


@pytest.mark.parametrize("path", GOOD, ids=file_id)
def test_cli_accepts_good_file(path: Path) -> None:
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    # a valid scenario reports the appeal-value correlation of its laid-out elements (#14)
    assert re.fullmatch(re.escape(f"{path}: valid (appeal-value correlation of the laid-out "
                                  "elements ") + r"[+-]\d\.\d\d\)\n", result.stdout)


def test_cli_accepts_all_good_files_together() -> None:
    result = runner.invoke(app, ["validate", *map(str, GOOD)])
    assert result.exit_code == 0, result.output
    assert result.stdout.count(": valid (appeal-value correlation") == len(GOOD)


def test_cli_mixed_good_and_bad_exits_2() -> None:
    bad = BAD_DIR / "shares_not_summing_to_one.yaml"
    result = runner.invoke(app, ["validate", str(FIXTURE), str(bad)])
    assert result.exit_code == 2
    assert f"{FIXTURE}: valid" in result.stdout
    assert result.stderr.splitlines()[-1] == "1 of 2 file(s) invalid"


def test_cli_missing_file_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = runner.invoke(app, ["validate", str(missing)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"{missing}: file not found"


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "outcome_gym.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "name",
    ["binary_nul_bytes.yaml", "yaml_bomb_billion_laughs.yaml", "three_independent_problems.yaml"],
)
def test_cli_subprocess_rejects_bad_file(name: str) -> None:
    path = BAD_DIR / name
    proc = _run_cli("validate", str(path))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == len(_load_error(path).problems) + 1
    assert all(line.startswith(str(path)) for line in lines[:-1])


def test_cli_subprocess_rejects_fifty_megabytes(fifty_megabytes: Path) -> None:
    proc = _run_cli("validate", str(fifty_megabytes))
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0].startswith(f"{fifty_megabytes}: expected a file of at most")
    assert "Traceback" not in proc.stderr


def test_cli_subprocess_accepts_good_files() -> None:
    proc = _run_cli("validate", *map(str, GOOD))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""

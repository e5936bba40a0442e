"""Generated argument lists and mutated files thrown at every command (hypothesis).

Whatever a user types, the command line answers with exit 0 (done), 1 (a finding) or 2 (bad input)
and one line per problem: never a traceback, never an internal error (exit 3), and nothing written
outside the output folder it was given. Every example runs in a fresh folder holding valid and
mutated scenario, rules, sweep and contract files (``in/``); the test asserts those files are
untouched and that nothing appeared beside them except under ``out/`` (the only ``--out`` values
that may be written) or ``results/`` (the study command's default output).

The examples are derandomized (the same ones every run, so CI is reproducible) and small: every
file is the tiny fixture world (200 users, 14 days) or smaller, and pools run one worker.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import typer.main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from outcome_gym.cli import app
from tests.conftest import TINY

FIXTURES = TINY.parent
RULES = FIXTURES / "tiny_rules.yaml"
SWEEP = """\
name: fuzz_sweep
scenarios: [tiny.yaml]
grid:
  population.size: [20]
  clock.horizon_days: [2]
policies: [static, random]
seeds: {count: 1, first: 0}
"""
CONTRACT = """\
name: fuzz_contract
scenarios: [tiny.yaml]
population: 20
horizon_days: 2
seeds: {count: 2, first: 0}
candidate: {policy: random}
reference: {policy: static}
expectations:
  - {kind: verdict_not, verdicts: [trap, harm]}
  - {kind: engagement_lift, min: -0.5, max: 0.5}
"""
# values a user might put where a YAML scalar or a flow collection belongs
TOKENS = ["-1", "nan", "abc", "1e400", "[", "]", "{a: b, c}", "", "~", "true", "0", "99999999999",
          "'x'", "*a", "&a [1, 2]", "!!python/object/apply:os.system [ls]", "\t", "é", ":", "- x"]
FILES = ["in/tiny.yaml", "in/mutant.yaml", "in/rules.yaml", "in/sweep.yaml", "in/contract.yaml",
         "in/missing.yaml", "in", "in/../in/tiny.yaml", "no_such_world", ""]
OUTS = ["out/a", "out", ".", "in", "in/tiny.yaml", "out/a/../../in", "out/a/b"]
POLICIES = ["static", "random", "static,random", "engagement_bandit:epsilon=abc",
            "outcome_bandit:lever=layout", "nope", "static,static", "rules:in/rules.yaml",
            "engagement_bandit:levers=layout"]
COMMON = {"--json": None, "--quiet": None, "--progress": None, "--no-progress": None,
          "--overwrite": None, "--workers": ["1", "0", "-1", "abc"], "--out": OUTS}
OPTIONS: dict[str, dict[str, list[str] | None]] = {
    "validate": {"--kind": ["scenario", "rules", "sweep", "contract", "study", "bogus"],
                 "--scenario": FILES},
    "schema": {"--kind": ["scenario", "rules", "sweep", "contract", "study", "bogus"],
               "--indent": ["0", "2", "-1", "x"]},
    "scenarios": {},
    "policies": {},
    "params": {"--scenario": FILES, "--json": None},
    "run": {"--policy": POLICIES, "-p": ["epsilon=abc", "x=1", "epsilon=0.1", "=", "levers=layout"],
            "--seed": ["0", "-1", "abc", str(2**70)], "--guardrails": ["on", "off", "bogus"]},
    "compare": {"--policies": POLICIES, "--reference": ["static", "nope", "random"],
                "--seeds": ["0", "1", "2", "x"], "--first-seed": ["0", "-5", "x"]},
    "check": {"--dry-run": None, "--junit": ["out/j.xml", "in/tiny.yaml", "in"],
              "--summary": ["out/s.md", "in/rules.yaml"]},
    "sweep": {"--dry-run": None, "--resume": None, "--retries": ["0", "1", "-1"]},
    "study": {"--fast": None, "--studies-dir": ["in", "out", "missing"], "--readme": FILES},
    "report": {},
    "sensitivity": {"--policies": POLICIES, "--method": ["morris", "sobol", "bogus"],
                    "--params": ["appeal_utility", "nope", ""], "--seeds": ["2", "0", "x"]},
}
POSITIONAL = {"validate": FILES, "run": FILES, "compare": FILES, "check": FILES, "sweep": FILES,
              "study": ["nope", "in", "trap,nope", ""], "report": [*FILES, "out"],
              "sensitivity": FILES}
GOOD = {"validate": "in/sweep.yaml", "run": "in/tiny.yaml", "compare": "in/tiny.yaml",
        "check": "in/contract.yaml", "sweep": "in/sweep.yaml", "sensitivity": "in/tiny.yaml"}
# options every example of a command carries so that a valid run stays small
CHEAP = {"sensitivity": ["--trajectories", "1", "--population", "20", "--horizon-days", "1"],
         "compare": ["--workers", "1"], "check": ["--workers", "1"], "sweep": ["--workers", "1"],
         "study": ["--workers", "1"]}
ALLOWED_NEW = {"out", "results"}
ACCEPTS = {name: {o for p in cmd.params for o in p.opts}
           for name, cmd in typer.main.get_command(app).commands.items()}  # type: ignore[attr-defined]


@st.composite
def mutant(draw: st.DrawFn) -> str:
    """The tiny world's text with a few lines deleted, repeated or given a bad value."""
    lines = TINY.read_text().splitlines()
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "repeat", "value", "truncate"]))
        if op == "delete":
            del lines[i]
        elif op == "repeat":
            lines.insert(i, lines[i])
        elif op == "value" and ":" in lines[i]:
            key = lines[i].split(":", 1)[0]
            lines[i] = f"{key}: {draw(st.sampled_from(TOKENS))}"
        elif op == "truncate":
            lines = [*lines[:i], lines[i][:draw(st.integers(0, len(lines[i])))]]
    return "\n".join(lines) + "\n"


@st.composite
def argv(draw: st.DrawFn) -> list[str]:
    """A command, some positional arguments and some of its options (or any option at all)."""
    command = draw(st.sampled_from(sorted(OPTIONS)))
    args = [command]
    pos = POSITIONAL.get(command)
    if command in GOOD and draw(st.booleans()):  # half the time the right kind of file first
        args.append(GOOD[command])
    if pos:
        args += draw(st.lists(st.sampled_from(pos), min_size=0, max_size=2))
    options = {**{f: v for f, v in COMMON.items() if f in ACCEPTS[command]}, **OPTIONS[command]}
    flags = draw(st.lists(st.sampled_from(sorted(options)), max_size=4, unique=True)) if options else []
    for flag in flags:
        values = options[flag]
        args += [flag] if values is None else [flag, draw(st.sampled_from(values))]
    if command == "run" and "--out" not in args and draw(st.booleans()):
        args += ["--out", "out/a"]
    if draw(st.integers(0, 9)) == 0:  # now and then a stray token anywhere
        args.insert(draw(st.integers(1, len(args))), draw(st.sampled_from([*TOKENS, "--bogus"])))
    return args + CHEAP.get(command, [])


@contextmanager
def _workspace(mutated: str) -> Iterator[Path]:
    """A fresh folder, made the working directory, with the input files under ``in/``."""
    cwd = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inp = root / "in"
        inp.mkdir()
        shutil.copy(TINY, inp / "tiny.yaml")
        shutil.copy(RULES, inp / "rules.yaml")
        (inp / "mutant.yaml").write_text(mutated)
        (inp / "sweep.yaml").write_text(SWEEP)
        (inp / "contract.yaml").write_text(CONTRACT)
        os.chdir(root)
        try:
            yield root
        finally:
            os.chdir(cwd)


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``in/`` with its size and modification time."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted((root / "in").rglob("*"))}


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(args=argv(), mutated=mutant())
def test_any_command_line_exits_cleanly_and_writes_only_where_told(args, mutated):
    with _workspace(mutated) as root:
        before = _snapshot(root)
        res = CliRunner().invoke(app, args)
        out = res.stdout + res.stderr
        assert res.exit_code in (0, 1, 2), (args, res.exit_code, out[-2000:])
        assert res.exception is None or isinstance(res.exception, SystemExit), (args, out[-2000:])
        assert "Traceback" not in out and "internal error" not in out, (args, out[-2000:])
        assert _snapshot(root) == before, args
        new = {p.name for p in root.iterdir()} - {"in"}
        assert new <= ALLOWED_NEW, (args, new)


def test_an_internal_error_says_it_is_one_in_one_line(monkeypatch):
    def boom(*_a: object, **_k: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("outcome_gym.cli.load_scenario", boom)
    res = CliRunner().invoke(app, ["run", str(TINY)])
    assert res.exit_code == 3
    assert res.stderr.startswith("internal error: ZeroDivisionError: division by zero\n")
    assert "this is a bug in outcome-gym" in res.stderr and "Traceback" not in res.stderr
    monkeypatch.setenv("OUTCOME_GYM_DEBUG", "1")  # asked for: the exception itself
    assert isinstance(CliRunner().invoke(app, ["run", str(TINY)]).exception, ZeroDivisionError)


def test_a_refusal_of_the_machine_is_bad_input_with_the_file(monkeypatch):
    def full(*_a: object, **_k: object) -> None:
        raise OSError(28, "No space left on device", "out/a/summary.json")

    monkeypatch.setattr("outcome_gym.cli.load_scenario", full)
    res = CliRunner().invoke(app, ["run", str(TINY)])
    assert res.exit_code == 2
    assert res.stderr == "error: No space left on device: out/a/summary.json\n"

"""A comparison the page runs in the background: ``outcome-gym compare`` in its own process.

Running the CLI itself (not a copy of its steps) keeps one way to compare: the same validation,
executor, cache of finished runs and report, and the same wall time. A request is identified by its
content (the scenario's text, the rules files' text, policies, reference, seeds) and by the code
that runs it (:func:`outcome_gym._io.code_fingerprint`: a new version never serves an old
version's verdicts; compare still reuses the runs that are current), so its folder
``home/comparisons/<key>/`` is found again when the same comparison is asked for: re-opening a
finished one is instant, and a cancelled one resumes with its finished runs. Progress is the share
of run folders written (each appears atomically when its run finishes). Cancel sends SIGINT to the
process group (compare exits 130 and its pool workers go with it).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from outcome_gym._io import atomic_write, code_fingerprint

State = Literal["running", "finished", "failed", "cancelled", "idle"]


@dataclass(frozen=True)
class Request:
    """What to compare.

    Attributes:
        scenario_text: The scenario's YAML text (valid: the page checks it first).
        policies: Policy specs as the CLI takes them (``name:key=value,...``).
        reference: The reference policy.
        seeds: Paired seeds.
        first_seed: The first seed.
        rules: Rules files the policies name: file name -> text (written beside the scenario).
    """

    scenario_text: str
    policies: tuple[str, ...]
    reference: str = "static"
    seeds: int = 10
    first_seed: int = 0
    rules: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """A hash of the content and of the code, naming this comparison's folder."""
        blob = json.dumps([self.scenario_text, list(self.policies), self.reference, self.seeds,
                           self.first_seed, list(self.rules), code_fingerprint()], sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]

    @property
    def n_runs(self) -> int:
        """Runs the comparison makes (the reference is added when not among the policies)."""
        labels = set(self.policies) | {self.reference}
        return len(labels) * self.seeds


@dataclass
class Job:
    """One comparison's folder and, while it runs, its process.

    Attributes:
        request: What is compared.
        folder: ``home/comparisons/<key>``: the inputs and ``out/`` (compare's output).
        process: The running ``outcome-gym compare``, if this server started it.
    """

    request: Request
    folder: Path
    process: subprocess.Popen[bytes] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def out(self) -> Path:
        """The output folder of compare (report, figures, runs)."""
        return self.folder / "out"

    @property
    def state(self) -> State:
        """Where the comparison stands."""
        if self.process is not None and self.process.poll() is None:
            return "running"
        if (self.out / "summary.json").is_file() and not (self.folder / "error.txt").is_file():
            return "finished"
        code = self.process.returncode if self.process is not None else None
        if code == 130 or (self.folder / "cancelled").is_file():
            return "cancelled"
        if (self.folder / "error.txt").is_file():
            return "failed"
        return "idle"

    @property
    def progress(self) -> tuple[int, int]:
        """(runs finished, runs in all) — finished ones appear atomically as run folders."""
        runs = self.out / "runs"
        done = sum(1 for p in runs.glob("*/summary.json")) if runs.is_dir() else 0
        return min(done, self.request.n_runs), self.request.n_runs

    @property
    def error(self) -> str:
        """What compare said when it failed (its stderr, the CLI's message)."""
        path = self.folder / "error.txt"
        return path.read_text(encoding="utf-8") if path.is_file() else ""

    def start(self, workers: int) -> None:
        """Start the comparison in the background (nothing happens if it is running)."""
        with self._lock:
            if self.state == "running":
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            for stale in ("error.txt", "cancelled"):
                (self.folder / stale).unlink(missing_ok=True)
            scenario = atomic_write(self.folder / "scenario.yaml", self.request.scenario_text,
                                    what="scenario")
            for name, text in self.request.rules:
                atomic_write(self.folder / name, text, what="rules")
            cmd = [sys.executable, "-m", "outcome_gym", "compare", str(scenario),
                   "--policies", ",".join(self.request.policies),
                   "--reference", self.request.reference,
                   "--seeds", str(self.request.seeds), "--first-seed", str(self.request.first_seed),
                   "--workers", str(workers), "--out", str(self.out), "--overwrite",
                   "--no-progress", "--json"]
            self.process = subprocess.Popen(  # our own CLI, arguments as a list
                cmd, cwd=self.folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                start_new_session=True)
            threading.Thread(target=self._wait, daemon=True).start()

    def _wait(self) -> None:
        """Keep compare's message when it fails (read to the end so the pipe never blocks)."""
        proc = self.process
        assert proc is not None and proc.stderr is not None
        err = proc.stderr.read().decode("utf-8", "replace")
        code = proc.wait()
        if code == 130:
            (self.folder / "cancelled").touch()
        elif code != 0:
            atomic_write(self.folder / "error.txt",
                         err.strip() or f"outcome-gym compare exited {code}", what="error")

    def cancel(self) -> None:
        """Stop a running comparison (its finished runs are kept and reused next time)."""
        proc = self.process
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)


class Jobs:
    """Every comparison of this server, by request key (one process per request at most)."""

    def __init__(self, home: Path) -> None:
        self.home = home / "comparisons"
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def get(self, request: Request) -> Job:
        """The job of ``request`` (a finished one on disk is found again)."""
        with self._lock:
            job = self._jobs.get(request.key)
            if job is None:
                job = self._jobs[request.key] = Job(request, self.home / request.key)
            return job

    def find(self, key: str) -> Job | None:
        """The job this server knows under ``key``, if any."""
        with self._lock:
            return self._jobs.get(key)

"""One user's story: the same person on the same days under the reference and under a policy.

    from outcome_gym.story import tell
    st = tell("learning_habits", "engagement_bandit", "static", seed=0, user=17)
    print(st.markdown())       # per day side by side, the events that mattered, a summary
    st.figure("story.png")     # the two timelines

A story is a deterministic replay (docs/who-is-harmed.md): both runs are simulated again from the
seed, with the same guardrails, so no stored traces are needed and the user's numbers are exactly
those of the comparison's runs. The runs are followed through :func:`outcome_gym.runner.run`'s
``before_act`` hook, which reads the model between steps and changes nothing: the user's running
totals (``model.totals``) at each day's start give the day's sessions, minutes, notifications,
goal progress and goal events; the layout of the previous step gives what sat first in the layout.

A side whose policy treats users apart (static, rules: :func:`~outcome_gym.policies.base.
treats_users_apart`) is replayed for the user's team only: every random draw is made over all
users and the team's rows kept (sim/rng.py), and nothing but a team's shared screens couples
users, so the user's days are bit for bit those of the full run (tests/cli/test_story_subset.py).
A learner pools what it learns across users, so its side is replayed in full. Each timeline says
which (``Timeline.replayed``).
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from outcome_gym._io import read_json
from outcome_gym.errors import InputError
from outcome_gym.policies.spec import PolicySpec, parse_policy
from outcome_gym.scenario import Scenario, load_scenario

COUNTS = ("sessions", "minutes", "delivered", "opens", "opt_outs", "goal_progress")
"""Running per-user totals read each day (sim/recording.py names)."""


@dataclass
class Timeline:
    """One side of a story: the user's days under one policy (one row per day)."""

    label: str
    days: pd.DataFrame
    churn_day: int
    replayed: str = ""
    """How the side was replayed: for the user's team only or for every user, and why."""


@dataclass
class Story:
    """One user's days under the reference and a policy (see module doc).

    Attributes:
        scenario: The scenario's name.
        seed, user: Whose story.
        segment: The user's segment.
        traits: The user's traits (attention budget, susceptibility, ...).
        reference, policy: The two timelines.
        events: Day -> what happened on one side only ('a task missed under the policy').
        summary: The plain-language difference.
    """

    scenario: str
    seed: int
    user: int
    segment: str
    traits: dict[str, float]
    reference: Timeline
    policy: Timeline
    events: list[tuple[int, str]]
    summary: list[str]

    def table(self) -> pd.DataFrame:
        """Per day, side by side (``ref.``/``pol.`` columns)."""
        r = self.reference.days.set_index("day").add_prefix("ref.")
        p = self.policy.days.set_index("day").add_prefix("pol.")
        return r.join(p).reset_index()

    def markdown(self, figure: str | None = None) -> str:
        """The story as markdown (``figure``: the figure's file name, linked when given)."""
        ref, pol = self.reference.label, self.policy.label
        traits = ", ".join(f"{k.replace('_', ' ')} {v:.3g}" for k, v in self.traits.items())
        out = [f"# User {self.user} of {self.scenario}, seed {self.seed}: {pol} vs {ref}", "",
               f"Segment {self.segment}; {traits}.", ""]
        out += [f"Replayed: {tl.label} {tl.replayed}." for tl in (self.reference, self.policy)
                if tl.replayed]
        out += ["", "## Summary", ""]
        out += [f"- {line}" for line in self.summary] + [""]
        if figure:
            out += [f"![the two timelines]({figure})", ""]
        out += ["## Events that mattered", ""]
        out += [f"- day {d}: {text}" for d, text in self.events] or ["- none on one side only"]
        out += ["", "## Day by day", "",
                f"Each cell: {ref} | {pol}. Top: the first movable position of the layout in "
                "the day's sessions.", ""]
        head = ["day", "top of layout", "notifications sent/opened", "sessions", "minutes",
                "attention left (min)", "goal progress", "goal events"]
        out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        r, p = self.reference.days, self.policy.days
        for i in range(len(r)):
            a, b = r.iloc[i], p.iloc[i]
            cells = [str(int(a["day"])), f"{a['top']} \\| {b['top']}",
                     f"{a['delivered']:.0f}/{a['opens']:.0f} \\| {b['delivered']:.0f}/"
                     f"{b['opens']:.0f}",
                     f"{a['sessions']:.0f} \\| {b['sessions']:.0f}",
                     f"{a['minutes']:.1f} \\| {b['minutes']:.1f}",
                     f"{a['attention_left']:.1f} \\| {b['attention_left']:.1f}",
                     f"{a['goal_progress']:.2f} \\| {b['goal_progress']:.2f}",
                     f"{a['goal_events'] or '—'} \\| {b['goal_events'] or '—'}"]
            out.append("| " + " | ".join(cells) + " |")
        return "\n".join(out) + "\n"

    def figure(self, path: str | Path | None = None) -> Any:
        """The two timelines (minutes, notifications, goal progress per day); a PNG path if
        ``path`` is given, else the Figure.
        """
        from outcome_gym.report.figures import pyplot, save_png
        from outcome_gym.report.style import REFERENCE_COLOR, color

        plt = pyplot()
        fig, axes = plt.subplots(3, 1, figsize=(8, 6.5), sharex=True)
        panels = (("minutes", "minutes in the app"), ("delivered", "notifications sent"),
                  ("goal_progress", "goal progress"))
        for ax, (col, title) in zip(axes, panels, strict=True):
            for tl, c, ls in ((self.reference, REFERENCE_COLOR, "--"), (self.policy, color(0), "-")):
                ax.plot(tl.days["day"], tl.days[col], ls, color=c, label=tl.label, marker=".")
                if tl.churn_day >= 0:
                    ax.axvline(tl.churn_day, color=c, ls=":", lw=1)
            ax.set_ylabel(title)
        axes[0].legend(loc="upper right", fontsize=8)
        axes[-1].set_xlabel("day")
        fig.suptitle(f"user {self.user} ({self.segment}), seed {self.seed}")
        if path is None:
            return fig
        return save_png(fig, Path(path), tight=True)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (the day-by-day table as records)."""
        return {"scenario": self.scenario, "seed": self.seed, "user": self.user,
                "segment": self.segment, "traits": self.traits,
                "reference": self.reference.label, "policy": self.policy.label,
                "replayed": {"reference": self.reference.replayed,
                             "policy": self.policy.replayed},
                "events": [{"day": d, "text": t} for d, t in self.events],
                "summary": self.summary,
                "days": json.loads(self.table().to_json(orient="records"))}

    def write(self, out_dir: str | Path) -> Path:
        """Write story.md and story.png into ``out_dir`` (created if missing)."""
        from outcome_gym._io import atomic_write

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.figure(out / "story.png")
        atomic_write(out / "story.md", self.markdown("story.png"))
        return out


class _Tracker:
    """Reads one user's running totals and layout between steps (changes nothing).

    ``user`` is the user's id in the scenario; in a replay of a subset of the users
    (``model.rows``) the model's row of that user is read.
    """

    def __init__(self, user: int) -> None:
        self.user = user
        self.row = -1
        self.model: Any = None
        self.snaps: list[dict[str, float]] = []
        self.tops: list[list[int]] = []
        self.attention: list[float] = []

    def __call__(self, model: Any) -> None:
        if self.model is None:
            self.row = int(np.searchsorted(model.rows.ids, self.user))
        self.model = model
        spd = model.world.slots_per_day
        if model.t % spd == 0:
            if model.t > 0:  # yesterday's end: what attention was left before today's refill
                self.attention.append(float(model.pop.attention_left[self.row]))
            self.snaps.append(self._totals())
            self.tops.append([])
        if model.t > 0 and model.recorder.last.session[self.row]:
            free = np.flatnonzero(~model.world.core_slot)
            row = model.recorder.last.layout[self.row]
            self.tops[-1 if model.t % spd else -2].append(int(row[free[0] if free.size else 0]))

    def _totals(self) -> dict[str, float]:
        tot = self.model.totals
        return {k: float(v[self.row]) for k, v in tot.items()}

    def finish(self) -> None:
        self.attention.append(float(self.model.pop.attention_left[self.row]))
        self.snaps.append(self._totals())


def _goal_words(key: str) -> str | None:
    goal, _, event = key.partition(".")
    words = {"failed": "a task missed", "completed_on_time": "a task done on time",
             "practised": "a practice day", "overspend": "overspent", "adjusted_in_time":
             "adjusted the budget in time", "abandoned": "a task abandoned"}
    return f"{words[event]} ({goal})" if event in words else None


def _timeline(label: str, tr: _Tracker, element_ids: tuple[str, ...]) -> Timeline:
    rows = []
    for d in range(len(tr.snaps) - 1):
        a, b = tr.snaps[d], tr.snaps[d + 1]
        delta = {k: b.get(k, 0.0) - a.get(k, 0.0) for k in b}
        goal_events = [f"{_goal_words(k)} x{delta[k]:.0f}" if delta[k] > 1 else str(_goal_words(k))
                       for k in sorted(delta) if "." in k and delta[k] > 0 and _goal_words(k)]
        tops = tr.tops[d]
        rows.append({"day": d, **{k: delta.get(k, 0.0) for k in COUNTS},
                     "attention_left": tr.attention[d],
                     "top": element_ids[Counter(tops).most_common(1)[0][0]] if tops else "—",
                     "goal_events": ", ".join(goal_events), **{
                         f"ev.{k}": delta[k] for k in delta if "." in k}})
    churn = int(tr.model.pop.churn_day[tr.row])
    return Timeline(label, pd.DataFrame(rows), churn)


def _events(ref: Timeline, pol: Timeline) -> list[tuple[int, str]]:
    """What happened on one side only, day by day (tasks missed, streaks broken, opt-outs,
    churn).
    """
    out = []
    ev = [c for c in ref.days.columns if c.startswith("ev.")]

    def arrays(tl: Timeline) -> dict[str, np.ndarray]:
        # the days' columns as arrays, read once (a row lookup per day and column cost ~1 ms a day)
        return {c: (tl.days[c].to_numpy() if c in tl.days else np.zeros(len(tl.days)))
                for c in [*ev, "opt_outs"]}

    r, p = arrays(ref), arrays(pol)
    sides = ((pol, p, ref, r), (ref, r, pol, p))
    for d in range(len(ref.days)):
        for col in ev:
            words = _goal_words(col[3:])
            if words and (words.startswith(("a task missed", "overspent", "a task abandoned"))):
                if p[col][d] > r[col][d]:
                    out.append((d, f"{words} under {pol.label}, not under {ref.label}"))
                elif p[col][d] < r[col][d]:
                    out.append((d, f"{words} under {ref.label}, not under {pol.label}"))
            if words and words.startswith("a practice day"):
                for tl, ta, other, oa in sides:
                    t, o = ta[col], oa[col]
                    if t[d] == 0 and o[d] > 0:
                        broke = d > 0 and t[d - 1] > 0
                        out.append((d, f"{'streak broken: ' if broke else ''}no practice under "
                                       f"{tl.label}, practised under {other.label}"))
        for tl, ta, other, oa in sides:
            if ta["opt_outs"][d] > oa["opt_outs"][d]:
                out.append((d, f"opted out of notifications under {tl.label}"))
            if tl.churn_day == d and other.churn_day != d:
                out.append((d, f"quit the product under {tl.label}"))
    return out


def _summary(ref: Timeline, pol: Timeline, user: int, events: list[tuple[int, str]]) -> list[str]:
    r, p = ref.days.sum(numeric_only=True), pol.days.sum(numeric_only=True)

    def pair(col: str, fmt: str = ".0f") -> str:
        return f"{p[col]:{fmt}} (reference {r[col]:{fmt}})"

    lines = [f"Under {pol.label}, user {user} had {pair('sessions')} sessions and spent "
             f"{pair('minutes')} minutes in the app, was sent {pair('delivered')} notifications "
             f"and opened {pair('opens')}.",
             f"Goal progress over the run: {pair('goal_progress', '.1f')}."]
    for col in [c for c in ref.days.columns if c.startswith("ev.")]:
        words = _goal_words(col[3:])
        if words and r[col] != p[col]:
            lines.append(f"{words}: {pair(col)}.")
    for tl in (pol, ref):
        if tl.churn_day >= 0:
            lines.append(f"Under {tl.label} the user quit on day {tl.churn_day}.")
    diff = p["goal_progress"] - r["goal_progress"]
    verdict = ("worse off" if diff < 0 else "better off" if diff > 0 else "no different")
    first = f"; the first difference on one side only: day {events[0][0]}, {events[0][1]}" \
        if events else ""
    lines.append(f"In goal progress this user is {verdict} under {pol.label}{first}.")
    return lines


def replay(scenario: Scenario, spec: PolicySpec, seed: int, user: int,
           guardrails: Any = None, subset: bool = True) -> tuple[Timeline, dict[str, Any]]:
    """One side of a story: the run of ``spec`` on ``seed`` followed for ``user``; its timeline
    and the user's row of the run's users table (a module-level function: pools can run it).

    With ``subset`` and a policy that treats users apart, only the user's team is simulated (the
    same days, see the module doc); otherwise every user.
    """
    from outcome_gym.runner import simulate

    apart = _apart(spec, subset)
    tr = _Tracker(user)
    # by name, as a run makes it: errors name the policy as the user wrote it
    sim = simulate(scenario, spec.policy, seed, policy_params=dict(spec.params),
                   guardrails=guardrails, before_act=tr, users=[user] if apart else None,
                   divergence=False)  # a story reads users, not the segments' divergence
    tr.finish()
    users = sim.users()
    row = users.iloc[tr.row].to_dict()
    n, n_all = len(users), scenario.population.size
    if apart and n < n_all:
        how = (f"for the user's team only ({n} of {n_all} users; {spec.policy} treats users "
               "apart, so these are the user's days of the full run)")
    elif apart:
        how = f"for all {n_all} users (the user's team is everyone)"
    elif subset:
        how = (f"for all {n_all} users ({spec.policy} does not declare that it treats users "
               "apart: its action for one user may depend on others, as a learner's does)")
    else:
        how = f"for all {n_all} users"
    tl = _timeline(spec.display, tr, tr.model.world.element_ids)
    tl.replayed = how
    return tl, row


def _apart(spec: PolicySpec, subset: bool) -> bool:
    """True if :func:`replay` simulates the user's team only: ``subset`` asked for and the
    policy treats users apart.
    """
    from outcome_gym.policies import make, treats_users_apart

    return subset and treats_users_apart(make(spec.policy, **dict(spec.params)))


def _replays(tasks: list[tuple[Scenario, PolicySpec, int, int, Any, bool]],
             workers: int | None = None) -> list[tuple[Timeline, dict[str, Any]]]:
    """Every replay: this process runs a full replay (a learner's side) while forked children run
    the others.

    A replay of the user's team only (a policy that treats users apart) costs a fraction of a
    run, so a story against a learner takes about the learner's replay: this process runs it
    (nothing of a child's start, nor the return of its result, on that path) while a child
    replays the reference's team. Stories whose replays are all team-only run here one after the
    other (no child is worth its start). A forked child starts in milliseconds
    (:func:`outcome_gym._pool.fork_context`); where forking is unsafe, replays run here one after
    the other, or in spawned workers (seconds to start: worth it only for long runs) when
    ``workers`` > 1 is asked for. ``workers`` caps the processes, this one included (None:
    every usable CPU). Measured (benchmarks/bench_story.py, docs/who-is-harmed.md): a story
    against a learner takes 0.92-0.98 of a run with the 2-vCPU machine's second core free and
    1.3-1.5 runs with both cores busy (the learner's replay is a run's step loop by itself); one
    whose two sides treat users apart about half a run.
    """
    from outcome_gym._pool import default_workers, fork_context, worker_context

    full = [i for i, t in enumerate(tasks) if not _apart(t[1], t[5])]
    if not full:
        return [replay(*t) for t in tasks]
    here, away = full[0], [i for i in range(len(tasks)) if i != full[0]]
    n = min(len(away), (default_workers() if workers is None else workers) - 1)
    ctx = fork_context() if n > 0 else None
    if ctx is None and workers is not None and n > 0:
        ctx = worker_context()
    if ctx is None:
        return [replay(*t) for t in tasks]
    from concurrent.futures import ProcessPoolExecutor

    out: list[Any] = [None] * len(tasks)
    with ProcessPoolExecutor(n, mp_context=ctx) as pool:
        futures = {i: pool.submit(replay, *tasks[i]) for i in away}
        out[here] = replay(*tasks[here])
        for i, future in futures.items():
            out[i] = future.result()
    return out


def _story(scenario: Scenario, seed: int, user: int, ref: tuple[Timeline, dict[str, Any]],
           pol: tuple[Timeline, dict[str, Any]]) -> Story:
    (a, row), (b, _) = ref, pol
    events = _events(a, b)
    traits = {k: float(row[k]) for k in ("attention_budget", "susceptibility", "goal_weight",
                                         "trust_start", "devices") if k in row}
    return Story(scenario=scenario.name, seed=int(seed), user=int(user),
                 segment=str(row["segment"]), traits=traits, reference=a, policy=b,
                 events=events, summary=_summary(a, b, int(user), events))


def tell(scenario: Scenario | str | Path, policy: str | PolicySpec, reference: str | PolicySpec
         = "static", *, seed: int = 0, user: int = 0, guardrails: Any = None,
         workers: int | None = None, subset: bool = True) -> Story:
    """Replay ``user`` on ``seed`` under ``reference`` and ``policy`` (see module doc);
    ``workers`` caps the processes of the replays (None: every usable CPU; 1: this one);
    ``subset`` False replays every user on both sides (the same story, slower).

    Raises:
        InputError: ``user`` is not a user of the scenario (the valid range is named).
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    n = sc.population.size
    if not 0 <= int(user) < n:
        raise InputError.one(f"user {user} does not exist: expected 0..{n - 1}")
    pol, ref = parse_policy(policy), parse_policy(reference)
    a, b = _replays([(sc, ref, int(seed), int(user), guardrails, subset),
                     (sc, pol, int(seed), int(user), guardrails, subset)], workers)
    return _story(sc, int(seed), int(user), a, b)


# --- from a run or compare folder ---------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """What a folder holds for a story: scenario, reference, policies, seeds and run folders."""

    scenario: Scenario
    reference: PolicySpec
    policies: list[PolicySpec]
    seeds: list[int]
    runs: dict[tuple[str, int], Path]
    guardrails: Any


def _manifest(folder: Path) -> dict[str, Any]:
    return read_json(folder / "manifest.json")


def _spec(m: dict[str, Any], label: str | None = None) -> PolicySpec:
    return PolicySpec(policy=m["policy"]["name"], params=m["policy"]["params"] or {}, label=label)


def read_source(folder: str | Path) -> Source:
    """The scenario, policies and runs of a compare output or a run folder.

    Raises:
        InputError: The folder is neither.
    """
    from outcome_gym.scenario.loading import validate_scenario

    path = Path(folder)
    if (path / "runs.csv").is_file() and (path / "summary.json").is_file():
        summary = read_json(path / "summary.json")
        runs = pd.read_csv(path / "runs.csv")
        folders = {(str(r.policy), int(r.seed)): path / "runs" / str(r.run_id)
                   for r in runs.itertuples()}
        first = next(iter(folders.values()), None)
        if first is None or not (first / "manifest.json").is_file():
            raise InputError.one(
                f"{path} is a comparison without its runs (runs/ was not kept)")
        m = _manifest(first)
        specs = [PolicySpec(policy=p["name"], params=p["params"] or {}, label=p["label"])
                 for p in summary["policies"]]
        ref = next(s for s in specs if s.display == summary["reference"])
        return Source(validate_scenario(m["scenario"]), ref,
                      [s for s in specs if s.display != ref.display],
                      [int(s) for s in summary["seeds"]], folders,
                      (m.get("guardrails") or {}).get("config"))
    if (path / "manifest.json").is_file() and (path / "summary.json").is_file():
        m = _manifest(path)
        pol = _spec(m)
        return Source(validate_scenario(m["scenario"]), PolicySpec(policy="static"), [pol],
                      [int(m["seed"])], {(pol.display, int(m["seed"])): path},
                      (m.get("guardrails") or {}).get("config"))
    raise InputError.one(f"{path} is not a run or compare output (expected manifest.json or "
                     "runs.csv and summary.json in it)")


def spec_metric(scenario: Scenario, name: str) -> str:
    """The per-user metric of an outcome spec id (or ``engagement``).

    Raises:
        InputError: No such spec (with the closest name), or one whose segment has no users (no
            one can be its most harmed user).
    """
    names = [o.id for o in scenario.outcomes] + ["engagement"]
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        raise InputError.one(f"no outcome spec '{name}' in {scenario.name} (specs: "
                             f"{', '.join(names)})", suggestion=close[0] if close else None)
    seg = next((o.segment for o in scenario.outcomes if o.id == name), None)
    if seg in scenario.population.empty_segments():
        raise InputError.one(f"outcome spec '{name}' is not measured: its segment '{seg}' has no "
                             f"users in {scenario.name} at {scenario.population.size} users")
    return "engagement.index" if name == "engagement" else f"outcome.{name}"


def most_harmed(values: pd.DataFrame, reference: str, label: str, metric: str,
                direction: str) -> tuple[int, int, float]:
    """(seed, user, difference) of the user whose ``metric`` fell most under ``label``
    (direction-aware; ties: the lowest seed, then user).
    """
    best: tuple[float, int, int, float] | None = None
    for seed in sorted(values.loc[values["policy"] == label, "seed"].unique()):
        from outcome_gym.analysis.per_user import pair_rows

        ref, pol = pair_rows(values, label, reference, int(seed))
        d = pol[metric].to_numpy() - ref[metric].to_numpy()
        signed = np.where(np.isfinite(d), d if direction == "increase" else -d, np.inf)
        i = int(np.argmin(signed))
        if best is None or signed[i] < best[0]:
            best = (float(signed[i]), int(seed), int(ref["user"].iloc[i]), float(d[i]))
    if best is None:
        raise InputError.one(f"no per-user values of '{label}'")
    if not np.isfinite(best[0]):  # argmin over no finite difference picks user 0 on no data
        raise InputError.one(f"no user has a value of '{metric}' under both '{label}' and "
                             f"'{reference}'")
    return best[1], best[2], best[3]


def _direction(scenario: Scenario, metric: str) -> str:
    from outcome_gym.analysis.per_user import targets

    return next((t.direction for t in targets(scenario)[0] if t.metric == metric), "increase")


def most_harmed_stories(cmp: Any, guardrails: Any = None,
                        workers: int | None = None) -> dict[str, Story]:
    """Per policy of a comparison: the story of its most harmed user of the primary outcome
    (the scenario's first primary spec whose segment has users; engagement when there is none).
    """
    from outcome_gym.scenario import primary_outcomes

    prim = [o for o in primary_outcomes(cmp.scenario).values() if cmp.measured(f"outcome.{o.id}")]
    metric = f"outcome.{prim[0].id}" if prim else "engagement.index"
    if cmp.users.empty or metric not in cmp.users:
        return {}
    specs = {s.display: s for s in cmp.policies}
    direction = _direction(cmp.scenario, metric)
    who: dict[str, tuple[int, int]] = {}
    for label in cmp.stats:
        try:
            who[label] = most_harmed(cmp.users, cmp.reference, label, metric, direction)[:2]
        except InputError:  # nobody has a value of the metric (no denominator): no story
            continue
    tasks = [(cmp.scenario, specs[side], seed, user, guardrails, True)
             for label, (seed, user) in who.items() for side in (cmp.reference, label)]
    done = _replays(tasks, workers)
    return {label: _story(cmp.scenario, seed, user, done[2 * i], done[2 * i + 1])
            for i, (label, (seed, user)) in enumerate(who.items())}


def story_from_dir(folder: str | Path, *, user: int | None = None,
                   most_harmed_spec: str | None = None, policy: str | None = None,
                   seed: int | None = None, workers: int | None = None) -> Story:
    """A story from a compare output or run folder (``outcome-gym story``).

    Args:
        folder: The folder.
        user: Whose story (with ``seed``, default the first seed).
        most_harmed_spec: Instead of ``user``: the user whose outcome spec (or ``engagement``)
            fell most under the policy, over every seed.
        policy: The policy's label (default: the first compared policy).
        seed: The seed (default: the first; with ``most_harmed_spec``, the search is limited to
            it when given).
        workers: Processes for the replays (None: every usable CPU; 1: this one).

    Raises:
        InputError: Not a run or compare folder, an unknown policy, seed, user or spec.
    """
    from outcome_gym.analysis.per_user import user_values
    from outcome_gym.sweeps import read_table

    src = read_source(folder)
    labels = [p.display for p in src.policies]
    label = policy or labels[0]
    if label not in labels:
        close = difflib.get_close_matches(label, labels, n=1)
        raise InputError.one(f"no policy '{label}' in {folder} (policies: {', '.join(labels)})",
                             suggestion=close[0] if close else None)
    if seed is not None and seed not in src.seeds:
        raise InputError.one(f"seed {seed} is not one of {folder}'s seeds ({src.seeds})")
    pol = next(p for p in src.policies if p.display == label)
    sc = src.scenario
    if (user is None) == (most_harmed_spec is None):
        raise InputError.one("expected exactly one of --user and --most-harmed")
    if user is not None:  # tell checks the user's range
        return tell(sc, pol, src.reference, seed=seed if seed is not None else src.seeds[0],
                    user=user, guardrails=src.guardrails, workers=workers)
    metric = spec_metric(sc, str(most_harmed_spec))
    seeds = [seed] if seed is not None else src.seeds
    rows = []
    for s in seeds:
        for who in (src.reference.display, label):
            folder_s = src.runs.get((who, s))
            if folder_s is not None and (folder_s / "users.parquet").is_file():
                users = read_table(folder_s, "users")
            else:  # a run folder: the side without its users table is replayed
                from outcome_gym.runner import simulate

                side = src.reference if who == src.reference.display else pol
                users = simulate(sc, side.policy, s, policy_params=side.params,
                                 guardrails=src.guardrails, divergence=False).users()
            rows.append(user_values(sc, users).assign(policy=who, seed=s))
    found_seed, found_user, _ = most_harmed(pd.concat(rows, ignore_index=True),
                                            src.reference.display, label, metric,
                                            _direction(sc, metric))
    return tell(sc, pol, src.reference, seed=found_seed, user=found_user,
                guardrails=src.guardrails, workers=workers)


__all__ = ["Source", "Story", "Timeline", "most_harmed", "most_harmed_stories", "read_source",
           "replay", "spec_metric", "story_from_dir", "tell"]

"""The studio page (a Streamlit script): edit a scenario, choose policies, run, read the verdict.

Served by ``outcome-gym studio``; tested headless with Streamlit's AppTest and in a real browser.
The page holds no logic of its own beyond wiring: checking is :mod:`.draft`, the form tables are
:mod:`.forms`, runs are :mod:`.jobs` (the CLI's compare in the background) and reading a finished
comparison is :mod:`.results`.
"""

from __future__ import annotations

import os
import typing
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from outcome_gym.errors import OutcomeGymError
from outcome_gym.policies import registry
from outcome_gym.policies.spec import declared_parameters
from outcome_gym.scenario.loading import bundled_scenarios
from outcome_gym.scenario.schema import ElementKind
from outcome_gym.studio import forms
from outcome_gym.studio.draft import Checked, Drafts, check_text, source_text, studio_home
from outcome_gym.studio.jobs import Job, Jobs, Request
from outcome_gym.studio.results import Result

RULES_TEMPLATE = """\
# Designer rules (docs/policies.md): who gets what, when.
name: my_rules
default: {notify: schedule}
rules: []
"""
ELEMENT_KINDS = list(typing.get_args(ElementKind))
HIDDEN_POLICIES = {"sb3"}  # needs a trained agent file: not something to pick from a list


@st.cache_resource
def _job_table(home: str) -> Jobs:
    """One job table per server and work folder (survives reruns and page reloads)."""
    return Jobs(Path(home))


def _jobs() -> Jobs:
    return _job_table(str(studio_home()))


# --- the scenario being edited --------------------------------------------------------------

def _open(name_or_path: str) -> None:
    """Make ``name_or_path`` the scenario being edited (its draft, if the designer left one)."""
    try:
        original, name = source_text(name_or_path)
    except OutcomeGymError as exc:
        st.session_state.open_error = str(exc)
        return
    st.session_state.open_error = ""
    st.session_state.name = name
    st.session_state.original = original
    _set_text(Drafts(studio_home()).load(name) or original, bump=True)


def _set_text(text: str, *, bump: bool = False) -> None:
    """The scenario's new text: kept as a draft and checked; ``bump`` resets the form widgets."""
    st.session_state.text = text
    st.session_state.checked = check_text(text, file=f"{st.session_state.name}.yaml")
    if text != st.session_state.get("original"):
        Drafts(studio_home()).save(st.session_state.name, text)
    if bump:
        st.session_state.rev = st.session_state.get("rev", 0) + 1


def _set_data(data: dict[str, Any]) -> None:
    _set_text(forms.dump(data))


def _init() -> None:
    if "name" in st.session_state:
        return
    first = os.environ.get("OUTCOME_GYM_STUDIO_SCENARIO") or next(iter(bundled_scenarios()))
    _open(first)
    if "name" not in st.session_state:  # the given file could not be opened: fall back
        _open(next(iter(bundled_scenarios())))


# --- sidebar ----------------------------------------------------------------------------------

def _sidebar() -> None:
    with st.sidebar:
        st.header("Scenario")
        names = list(bundled_scenarios())
        current = st.session_state.name
        pick = st.selectbox("Bundled scenario", names, index=names.index(current)
                            if current in names else None, placeholder=current, key="pick")
        if pick and pick != current and pick != st.session_state.get("last_pick"):
            st.session_state.last_pick = pick
            _open(pick)
            st.rerun()
        upload = st.file_uploader("Open a scenario file", type=["yaml", "yml"], key="upload")
        if upload is not None and upload.file_id != st.session_state.get("upload_id"):
            st.session_state.upload_id = upload.file_id
            st.session_state.name = upload.name.rsplit(".", 1)[0]
            text = upload.getvalue().decode("utf-8", "replace")
            st.session_state.original = text
            _set_text(text, bump=True)
            st.rerun()
        if st.session_state.get("open_error"):
            st.error(st.session_state.open_error)
        if st.button("Discard my edits", help="Back to the scenario as it was opened"):
            Drafts(studio_home()).discard(st.session_state.name)
            _set_text(st.session_state.original, bump=True)
            st.rerun()
        st.caption(f"Drafts and runs are kept in `{studio_home()}`.")


# --- scenario tab -----------------------------------------------------------------------------

def _problems(checked: Checked, prefix: str) -> None:
    for line in checked.at(prefix):
        st.error(line, icon="⚠️")


def _table(name: str, title: str, prefix: str, data: dict[str, Any], checked: Checked) -> None:
    st.subheader(title)
    rows = forms.rows(name, data)
    cols = [c for c, _ in forms.columns(name, data)]
    frame = pd.DataFrame(rows, columns=cols).astype(object)
    config = {"kind": st.column_config.SelectboxColumn(options=ELEMENT_KINDS)} \
        if name == "elements" else None
    edited = st.data_editor(frame, num_rows="dynamic", width="stretch", column_config=config,
                            key=f"{name}-{st.session_state.rev}", hide_index=True)
    new_rows = edited.astype(object).where(edited.notna(), None).to_dict("records")
    if new_rows != frame.where(frame.notna(), None).to_dict("records"):
        _set_data(forms.with_rows(name, data, new_rows))
    _problems(checked, prefix)


def _shown(value: Any, low: float, high: float | None = None, *, integer: bool = False) -> Any:
    """A value a number widget can show, or None (empty) for one out of range or of a wrong type.

    The check then says what is wrong, beside the field; the page never fails on the file's value.
    """
    if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
        return None
    return value if value >= low and (high is None or value <= high) else None


def _guardrails(data: dict[str, Any], checked: Checked) -> None:
    st.subheader("Guardrails")
    g = data.get("guardrails") or {}
    rev = st.session_state.rev
    slots = list((data.get("clock") or {}).get("slot_names") or [])
    lock_now = g.get("lock_core", True)
    quiet_now = [q for q in g.get("quiet_slots") or [] if isinstance(q, str | int)]
    c1, c2, c3, c4 = st.columns(4)
    values = {
        "lock_core": c1.checkbox("Lock the core", value=bool(lock_now), key=f"lock-{rev}"),
        "max_notifications_per_day": c2.number_input(
            "Notifications per day (cap)", min_value=0, step=1, placeholder="no cap",
            value=_shown(g.get("max_notifications_per_day"), 0, integer=True), key=f"cap-{rev}"),
        "quiet_slots": c3.multiselect("Quiet slots", list(dict.fromkeys(slots + quiet_now)),
                                      default=quiet_now, key=f"quiet-{rev}"),
        "max_layout_distance": c4.number_input(
            "Max layout distance", min_value=0.0, max_value=1.0, step=0.05,
            placeholder="no limit", value=_shown(g.get("max_layout_distance"), 0.0, 1.0),
            key=f"dist-{rev}"),
    }
    now = {"lock_core": lock_now, "max_notifications_per_day": g.get("max_notifications_per_day"),
           "quiet_slots": quiet_now, "max_layout_distance": g.get("max_layout_distance")}
    changed = {k: (v if v != [] else None) for k, v in values.items() if v != now[k]}
    if changed:
        _set_data(forms.with_guardrails(data, changed))
    _problems(checked, "guardrails")


def _scenario_tab() -> None:
    checked: Checked = st.session_state.checked
    if checked.ok:
        st.success(f"{st.session_state.name}: valid (checked in {checked.seconds * 1000:.0f} ms)")
    else:
        st.error(f"{len(checked.problems)} problem(s) — the CLI would say:\n\n" +
                 "\n".join(f"- `{p}`" for p in checked.problems))
    data = forms.load(st.session_state.text)
    if data is not None:
        pop = (data.get("population") or {}).get("size")
        size = st.number_input("Users", min_value=1, step=100, key=f"size-{st.session_state.rev}",
                               value=_shown(pop, 1, integer=True))
        if size is not None and size != pop:
            _set_data(forms.with_value(data, ("population", "size"), int(size)))
            data = forms.load(st.session_state.text) or data
        _table("elements", "Elements", "product.elements", data, checked)
        _table("segments", "Segments", "population.segments", data, checked)
        _table("outcomes", "Outcome specs (one primary per target segment)", "outcomes", data,
               checked)
        _guardrails(data, checked)
        _table("schedule", "Notification schedule", "product.schedule", data, checked)
    with st.expander("YAML", expanded=data is None):
        text = st.text_area("Scenario YAML", st.session_state.text, height=400,
                            key=f"yaml-{st.session_state.rev}")
        if text != st.session_state.text and st.button("Apply YAML"):
            _set_text(text, bump=True)
            st.rerun()
        st.download_button("Download YAML", st.session_state.text,
                           file_name=f"{st.session_state.name}.yaml", mime="text/yaml")


# --- policies and run -------------------------------------------------------------------------

def _param_input(policy: str, p: Any) -> Any:
    key = f"param-{policy}-{p.name}"
    label = f"{p.name} ({p.annotation})" if p.annotation else p.name
    if p.annotation == "bool":
        return st.checkbox(label, value=bool(p.default), key=key)
    if p.annotation == "int":
        return st.number_input(label, value=p.default, step=1, key=key)
    if p.annotation in ("float", "float | None"):
        return st.number_input(label, value=p.default, format="%g", key=key,
                               placeholder="default")
    return st.text_input(label, value="" if p.default is None else str(p.default), key=key)


def _policy_specs(chosen: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """The CLI policy texts of the chosen policies, and the rules files they need."""
    specs, rules = [], []
    for name in chosen:
        if name == "rules":
            text = st.text_area("Rules file (edited in place)", RULES_TEMPLATE, height=220,
                                key="rules-text")
            rules.append(("rules.yaml", text))
            specs.append("rules:rules=rules.yaml")
            continue
        declared = declared_parameters(name)
        if not declared:
            specs.append(name)
            continue
        with st.expander(f"Parameters of {name}"):
            values = {p.name: _param_input(name, p) for p in declared}
        specs.append(forms.policy_spec(name, values, {p.name: p.default for p in declared}))
    return specs, rules


def _request(text: str) -> Request | None:
    names = [n for n in registry.names() if n not in HIDDEN_POLICIES]
    chosen = st.multiselect("Policies", names, default=["engagement_bandit", "outcome_bandit"],
                            key="policies")
    specs, rules = _policy_specs(chosen)
    c1, c2, c3 = st.columns(3)
    reference = c1.selectbox("Reference", names, index=names.index("static"), key="reference")
    seeds = int(c2.number_input("Paired seeds", min_value=2, max_value=200, value=10, step=1,
                                key="seeds"))
    st.session_state.workers = int(c3.number_input(
        "Worker processes", min_value=1, max_value=os.cpu_count() or 1,
        value=os.cpu_count() or 1, key="workers_in"))
    if not specs:
        st.info("Choose at least one policy.")
        return None
    return Request(text, tuple(specs), reference, seeds, rules=tuple(rules))


def _run_tab() -> None:
    checked: Checked = st.session_state.checked
    request = _request(st.session_state.text)
    if request is None:
        return
    st.caption("Runs: `outcome-gym compare " + " ".join(
        ["SCENARIO", "--policies", ",".join(request.policies), "--reference", request.reference,
         "--seeds", str(request.seeds)]) + "`")
    st.session_state.policy_specs = (request.policies, request.rules, request.reference,
                                     request.seeds)
    job = _jobs().get(request)
    if st.button("Run comparison", type="primary", disabled=not checked.ok
                 or job.state == "running", key="run"):
        job.start(st.session_state.workers)
    st.session_state.job_key = request.key
    _status(job, "run")


@st.fragment(run_every=0.5)
def _status(job: Job, where: str) -> None:
    """Progress, cancel and the outcome of the current comparison (refreshed twice a second)."""
    state = job.state
    done, total = job.progress
    if state == "running":
        st.progress(done / total, text=f"{done} of {total} runs")
        if st.button("Cancel", key=f"cancel-{where}-{job.request.key}"):
            job.cancel()
    elif state == "finished":
        st.success(f"Finished: {total} runs. The verdicts are on the Results tab.")
        seen = st.session_state.setdefault("seen_finished", set())
        if job.request.key not in seen:  # redraw the whole page once: the results are in
            seen.add(job.request.key)
            st.rerun()
    elif state == "cancelled":
        st.warning(f"Cancelled after {done} of {total} runs; running again reuses them.")
    elif state == "failed":
        st.error(job.error)


# --- results ----------------------------------------------------------------------------------

def _show(result: Result, *, compact: bool = False) -> None:
    st.dataframe(result.verdicts(), hide_index=True, width="stretch")
    for line in result.headline:
        (st.warning if line.startswith("warning") else st.markdown)(line)
    if not compact:
        st.dataframe(result.effects(), hide_index=True, width="stretch")
    for path in result.figures()[:2 if compact else None]:
        st.image(str(path), caption=path.stem.replace("_", " "))
    if not compact:
        _who_is_harmed(result)
        c1, c2 = st.columns(2)
        c1.download_button("report.md", result.report("md").read_bytes(), "report.md")
        c2.download_button("report.html", result.report("html").read_bytes(), "report.html")
        st.caption(f"Run folder: `{result.folder}`")


def _who_is_harmed(result: Result) -> None:
    """The per-user effects: who is worse off, the rules found, the most harmed user's story."""
    table = result.harm()
    if table.empty:
        return
    st.subheader("Who is harmed")
    st.caption("Each user against themself under the reference, same seed; shares beyond the "
               "per-user margin, mean over seeds with a 95% interval; the placebo's share is the "
               "noise floor (docs/who-is-harmed.md).")
    st.dataframe(table, hide_index=True, width="stretch")
    for label, rules in result.harm_rules().items():
        for rule in rules:
            st.markdown(f"**{label}**: {rule}")
    for label, lines in result.stories().items():
        with st.expander(f"{label}: the most harmed user's story"):
            st.markdown("\n".join(f"- {line}" for line in lines))


def _results_tab() -> None:
    key = st.session_state.get("job_key")
    job = _jobs().find(key) if key else None
    if job is None or job.state != "finished":
        st.info("Run a comparison on the Policies & run tab; its verdicts appear here.")
        return
    _show(Result.read(job.out))


def _side_by_side_tab() -> None:
    st.markdown("Variant B starts as the scenario being edited with the core lock flipped; "
                "edit its YAML to try any other change. Both run with the policies chosen on the "
                "Policies & run tab.")
    base = forms.load(st.session_state.text)
    if base is None or "policy_specs" not in st.session_state:
        st.info("Fix the scenario and choose policies first.")
        return
    lock = (base.get("guardrails") or {}).get("lock_core", True)
    default_b = forms.dump(forms.with_guardrails(base, {"lock_core": not lock}))
    text_b = st.text_area("Variant B (YAML)", default_b, height=200, key="variant-b")
    checked_b = check_text(text_b, file="variant_b.yaml")
    for p in checked_b.problems:
        st.error(str(p))
    specs, rules, reference, seeds = st.session_state.policy_specs
    requests = [Request(st.session_state.text, specs, reference, seeds, rules=rules),
                Request(text_b, specs, reference, seeds, rules=rules)]
    jobs = [_jobs().get(r) for r in requests]
    if st.button("Run both", disabled=not (st.session_state.checked.ok and checked_b.ok),
                 key="run-both"):
        for job in jobs:
            job.start(max(1, st.session_state.workers // 2))
    cols = st.columns(2)
    for col, job, title in zip(cols, jobs, ["A: as edited", "B: variant"], strict=True):
        where = title[0]
        with col:
            st.subheader(title)
            if job.state == "finished":
                _show(Result.read(job.out), compact=True)
            else:
                _status(job, where)


def main() -> None:
    """Draw the page."""
    st.set_page_config(page_title="outcome-gym studio", layout="wide",
                       menu_items={"Get help": None, "Report a bug": None, "About": None})
    _init()
    _sidebar()
    st.title("outcome-gym studio")
    tabs = st.tabs(["Scenario", "Policies & run", "Results", "Side by side"])
    with tabs[0]:
        _scenario_tab()
    with tabs[1]:
        _run_tab()
    with tabs[2]:
        _results_tab()
    with tabs[3]:
        _side_by_side_tab()


main()

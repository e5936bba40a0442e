"""``outcome-gym studio``: bad input refused before a server starts; the server's safe flags."""

from __future__ import annotations

from typer.testing import CliRunner

from outcome_gym.cli import app
from outcome_gym.studio.launch import streamlit_command


def test_a_bad_scenario_is_refused_before_any_server(monkeypatch, tmp_path):
    started = []
    monkeypatch.setattr("subprocess.call", lambda *a, **k: started.append(a) or 0)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    res = CliRunner().invoke(app, ["studio", str(bad)])
    assert res.exit_code == 2 and str(bad) in res.stderr and started == []
    res = CliRunner().invoke(app, ["studio", "no_such_world"])
    assert res.exit_code == 2 and "bundled name" in res.stderr and started == []


def test_the_server_is_local_offline_and_without_a_deploy_menu(monkeypatch):
    cmd = streamlit_command(port=8600)
    assert cmd[1:3] == ["-m", "outcome_gym.studio.serve"]  # warms the imports, then streamlit run
    flags = dict(f.removeprefix("--").split("=", 1) for f in cmd[3:])
    assert flags["server.address"] == "127.0.0.1" and flags["server.port"] == "8600"
    assert flags["browser.gatherUsageStats"] == "false"
    assert flags["client.toolbarMode"] == "viewer"
    assert flags["server.headless"] == "true"


def test_studio_starts_the_server_with_the_scenario(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr("subprocess.call",
                        lambda cmd, env: calls.append((cmd, env)) or 0)
    res = CliRunner().invoke(app, ["studio", "finance_alerts", "--port", "8611",
                                   "--workdir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    cmd, env = calls[0]
    assert "--server.port=8611" in cmd
    assert env["OUTCOME_GYM_STUDIO_SCENARIO"] == "finance_alerts"
    assert env["OUTCOME_GYM_STUDIO_HOME"] == str(tmp_path.resolve())

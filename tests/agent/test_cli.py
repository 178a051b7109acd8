import json
import stat

from tests.support.agent_process import agent_cli, configure


def test_configure_stores_config_with_0600(tmp_path, inst, engine):
    config = tmp_path / "conf" / "config.json"
    root = tmp_path / "root"
    root.mkdir()
    configure(config, inst, engine, root)
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    stored = json.loads(config.read_text())
    assert stored["root_dir"] == str(root.resolve())
    assert stored["actor_token"] == inst.tokens["agent"]


def test_status_reports_config_engine_and_no_jobs(tmp_path, inst, engine):
    config = tmp_path / "config.json"
    (tmp_path / "root").mkdir()
    configure(config, inst, engine, tmp_path / "root")
    human = agent_cli(config, "status")
    assert "connection    ok" in human.stdout and inst.tokens["agent"] not in human.stdout
    data = json.loads(agent_cli(config, "status", "--json").stdout)
    assert data["engine"]["contract_ref"] == "personal_ops@v1.0.0"
    assert data["last_jobs"] == []
    assert inst.tokens["agent"] not in json.dumps(data)


def test_status_with_bad_token_or_dead_engine_exits_non_zero(tmp_path, inst, engine):
    config = tmp_path / "config.json"
    (tmp_path / "root").mkdir()
    inst.tokens["agent"] = "lat_wrong"
    configure(config, inst, engine, tmp_path / "root")
    refused = agent_cli(config, "status", check=False)
    assert refused.returncode == 3 and "refused" in refused.stdout
    configure(config, inst, "http://127.0.0.1:9", tmp_path / "root")
    dead = agent_cli(config, "status", check=False)
    assert dead.returncode == 3 and "UNREACHABLE" in dead.stdout


def test_bad_configuration_is_refused_with_a_message(tmp_path, inst):
    config = tmp_path / "config.json"
    base = ["configure", "--institution-id", inst.institution_id, "--actor-token", "t"]
    cases = [
        ([*base, "--engine-base-url", "http://example.org", "--root-dir", str(tmp_path)], "https"),
        ([*base, "--engine-base-url", "ftp://x", "--root-dir", str(tmp_path)], "https://"),
        (
            [*base, "--engine-base-url", "https://e", "--root-dir", str(tmp_path / "nope")],
            "does not exist",
        ),
        (
            [
                "configure",
                "--institution-id",
                "x",
                "--actor-token",
                "t",
                "--engine-base-url",
                "https://e",
                "--root-dir",
                str(tmp_path),
            ],
            "malformed",
        ),
    ]
    for args, message in cases:
        result = agent_cli(config, *args, check=False)
        assert result.returncode == 2
        assert message in result.stderr
    assert not config.exists()


def test_run_without_config_explains(tmp_path):
    result = agent_cli(tmp_path / "missing.json", "run", check=False)
    assert result.returncode == 2 and "libervia-agent configure" in result.stderr


def test_world_readable_config_is_refused(tmp_path, inst, engine):
    config = tmp_path / "config.json"
    (tmp_path / "root").mkdir()
    configure(config, inst, engine, tmp_path / "root")
    config.chmod(0o644)
    result = agent_cli(config, "status", check=False)
    assert result.returncode == 2 and "chmod 600" in result.stderr

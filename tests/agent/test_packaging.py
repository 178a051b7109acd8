from tests.support.agent_process import agent_cli, configure, job_result, running_agent


def test_binary_runs_end_to_end_against_a_live_engine(agent_binary, tmp_path, inst, engine):
    root = tmp_path / "root"
    root.mkdir()
    (root / "report.pdf").write_bytes(b"%PDF-1.4 test")
    config = tmp_path / "config.json"
    command = [str(agent_binary)]
    configure(config, inst, engine, root, command=command)
    assert "connection    ok" in agent_cli(config, "status", command=command).stdout
    with running_agent(config, tmp_path / "agent.log", command=command):
        job = job_result(inst, inst.propose("exec", "list_files")["job_id"], timeout=60)
    assert job["result_status"] == "succeeded"
    assert [f["path"] for f in job["result"]["files"]] == ["report.pdf"]

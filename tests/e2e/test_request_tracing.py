"""One request id and one case id follow an action from the portal to the engine to the agent."""

from harness.servers import console_process, engine_process, json_lines
from tests.support.agent_process import agent_cli, running_agent, wait_for
from tests.support.console_api import ConsoleUser
from tests.support.databases import postgres_schema_url, require_postgres


def test_request_and_case_ids_reach_engine_and_agent_logs(tmp_path):
    require_postgres()
    engine_log, console_log, agent_log = (tmp_path / f"{n}.log" for n in ("e", "c", "a"))
    root = tmp_path / "files"
    root.mkdir()
    (root / "notes.txt").write_text("hello")
    with (
        engine_process(tmp_path / "engine", engine_log) as engine,
        postgres_schema_url() as database_url,
        console_process(tmp_path / "console", engine, database_url, console_log) as console,
    ):
        user = ConsoleUser(console).sign_up()
        runtime = user.onboard()["runtime_package"]
        config = tmp_path / "agent.json"
        agent_cli(
            config,
            "configure",
            "--institution-id",
            runtime["institution_id"],
            "--actor-token",
            runtime["agent_token"],
            "--engine-base-url",
            runtime["engine_base_url"],
            "--root-dir",
            str(root),
        )
        with running_agent(config, agent_log):
            reply = user.post(
                "/api/chat",
                {"text": "listar arquivos"},
                headers={"X-Request-ID": "trace-chat-0001"},
            )
            assert reply.status_code == 200, reply.text
            assert reply.headers["x-request-id"] == "trace-chat-0001"
            case_id = reply.json()["case_id"]

            def agent_reported():
                return [line for line in json_lines(agent_log) if line.get("msg") == "job finished"]

            finished = wait_for(agent_reported, what="the agent to run the job")
            wait_for(
                lambda: any(
                    line.get("path", "").endswith("/result") for line in json_lines(engine_log)
                ),
                what="the result post",
            )
        user.http.close()

    assert finished[0]["request_id"] == "trace-chat-0001"
    assert finished[0]["case_id"] == case_id

    console_lines = [
        line for line in json_lines(console_log) if line.get("request_id") == "trace-chat-0001"
    ]
    assert any(
        line.get("path") == "/api/chat" and line["case_id"] == case_id for line in console_lines
    )

    engine_lines = [
        line for line in json_lines(engine_log) if line.get("request_id") == "trace-chat-0001"
    ]
    paths = {line["path"].rsplit("/", 1)[-1] for line in engine_lines}
    assert {"proposals", "lease", "result"} <= paths, paths
    assert all(
        line["case_id"] == case_id for line in engine_lines if line["path"].endswith("/result")
    )

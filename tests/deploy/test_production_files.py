"""docker-compose.prod.yml, the Caddyfile, the Dockerfile and .env.example, checked by the real
tools (docker-compose config, caddy validate) and against the production checklist."""

import os
import re
import shutil
import subprocess

import pytest
import yaml

from harness.servers import ROOT

APP_SERVICES = {"engine", "console", "clock", "migrate"}


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: apt-get install {name} (.ci/run installs it)")
    return path


def documented_variables() -> dict[str, str]:
    pairs = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            pairs[name] = value
    return pairs


def mounts(service: dict) -> list[dict]:
    """Volume entries in either syntax, as {type, source, target}."""
    result = []
    for entry in service.get("volumes", []):
        if isinstance(entry, str):
            source, target = entry.split(":")[:2]
            kind = "bind" if source.startswith(("/", ".")) else "volume"
            entry = {"type": kind, "source": source, "target": target}
        result.append(entry)
    return result


@pytest.fixture(scope="module")
def compose(tmp_path_factory) -> dict:
    """The compose file as docker-compose resolves it, with .env.example as .env.prod."""
    tool = require_tool("docker-compose")
    folder = tmp_path_factory.mktemp("compose")
    for name in ("docker-compose.prod.yml", "Caddyfile", "Dockerfile"):
        shutil.copy(ROOT / name, folder / name)
    shutil.copy(ROOT / ".env.example", folder / ".env.prod")
    done = subprocess.run(
        [tool, "--env-file", ".env.prod", "-f", "docker-compose.prod.yml", "config"],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, "COMPOSE_INTERPOLATION_FAIL": "1"},
    )
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def test_compose_refuses_to_start_without_the_public_names(tmp_path):
    tool = require_tool("docker-compose")
    shutil.copy(ROOT / "docker-compose.prod.yml", tmp_path)
    (tmp_path / ".env.prod").write_text("ACME_EMAIL=ops@example.org\n")
    done = subprocess.run(
        [tool, "--env-file", ".env.prod", "-f", "docker-compose.prod.yml", "config"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "PORTAL_DOMAIN" in done.stderr


def test_only_caddy_publishes_ports(compose):
    services = compose["services"]
    assert set(services) == APP_SERVICES | {"postgres", "caddy"}
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"caddy"}
    ports = {(p["published"], p["target"]) for p in services["caddy"]["ports"]}
    assert {(80, 80), (443, 443)} <= {(int(a), int(b)) for a, b in ports}


def test_caddy_keeps_certificates_in_a_named_data_volume(compose):
    data = [m for m in mounts(compose["services"]["caddy"]) if m["target"] == "/data"]
    assert data and data[0]["type"] == "volume" and data[0]["source"] in compose["volumes"]


def test_state_lives_under_var_lib(compose):
    for name, service in compose["services"].items():
        for mount in mounts(service):
            if mount["type"] == "bind" and name != "caddy":
                assert mount["source"].startswith("/var/lib/libervia/"), (name, mount)
    engine_mounts = {m["target"] for m in mounts(compose["services"]["engine"])}
    clock_mounts = {m["target"] for m in mounts(compose["services"]["clock"])}
    assert "/var/lib/libervia/data" in engine_mounts & clock_mounts
    assert "/var/lib/libervia/backups" in clock_mounts


def test_postgres_is_healthchecked_and_waited_for(compose):
    services = compose["services"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    for name in ("migrate", "console", "clock"):
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["console"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )


def test_apps_take_secrets_from_env_prod_and_trust_only_the_proxy(compose):
    services = compose["services"]
    caddy_ip = services["caddy"]["networks"]["backend"]["ipv4_address"]
    for name in APP_SERVICES:
        assert services[name]["environment"]["ENGINE_ISE_ADMIN_TOKEN"], name
    for name in ("engine", "console"):
        command = " ".join(services[name]["command"])
        assert f"--forwarded-allow-ips={caddy_ip}" in command
        assert "*" not in command
    assert services["console"]["environment"]["CONSOLE_SECURE_COOKIES"] == "true"
    assert services["console"]["environment"]["CONSOLE_MIGRATE_ON_START"] == "false"
    assert services["clock"]["command"] == ["libervia", "clock"]


def test_every_variable_is_documented_in_env_example():
    documented = set(documented_variables())
    compose_text = (ROOT / "docker-compose.prod.yml").read_text()
    used = set(re.findall(r"\$\{([A-Z_]+)", compose_text))
    used |= set(re.findall(r"\{\$([A-Z_]+)", (ROOT / "Caddyfile").read_text())) - {
        "PORTAL_ADDRESS",
        "ENGINE_ADDRESS",
        "CADDY_GLOBAL_OPTIONS",
        "CONSOLE_UPSTREAM",
        "ENGINE_UPSTREAM",
    }
    for package in ("functions", "governance", "tenants", "portal", "agent", "ledger", "idl"):
        for path in (ROOT / package).rglob("*.py"):
            used |= set(re.findall(r"os\.environ\.get\(\"([A-Z_]+)\"", path.read_text()))
    used -= {"XDG_CONFIG_HOME"}
    assert used - documented == set()


def test_caddyfile_validates_for_production():
    tool = require_tool("caddy")
    env = {
        **os.environ,
        "PORTAL_ADDRESS": "portal.example.org",
        "ENGINE_ADDRESS": "engine.example.org",
        "CADDY_GLOBAL_OPTIONS": "email ops@example.org",
    }
    done = subprocess.run(
        [tool, "validate", "--config", str(ROOT / "Caddyfile"), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "Valid configuration" in done.stdout + done.stderr


def test_dockerfile_runs_as_a_user_and_has_pg_dump_for_backups():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER libervia$", text, re.M)
    assert "postgresql-client" in text
    server = yaml.safe_load((ROOT / "docker-compose.prod.yml").read_text())
    image = server["services"]["postgres"]["image"]
    assert image.startswith("postgres:15") and "bookworm" in text  # pg_dump 15 for server 15
    for package in ("functions", "governance", "tenants", "ledger", "idl", "portal", "agent"):
        assert f"COPY {package} ./{package}" in text

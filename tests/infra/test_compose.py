"""docker-compose.yml without a Docker engine: what can be checked is checked.

Images pinned, and the engines' versions equal to those the project runs (the Maven pom, the
Grafana SDK's line); every file and folder it mounts or reads exists; host ports are distinct
and equal to the settings' defaults; every `LAKEHOUSE_*` variable names a real setting; every
project service's command parses with the real CLI; dependencies name real services.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from cli.main import main
from lakehouse.config import ApiSettings, DruidSettings, KafkaSettings, Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
POM = (ROOT / "infra" / "jvm" / "pom.xml").read_text()
PROJECT_IMAGE = "betting-lakehouse:local"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _pom(prop: str) -> str:
    match = re.search(rf"<{re.escape(prop)}>([^<]+)</", POM)
    assert match, prop
    return match.group(1)


def test_the_platform_is_all_there(compose) -> None:
    services = set(_services(compose))
    druid = {"druid-coordinator", "druid-broker", "druid-historical", "druid-middlemanager", "druid-router"}
    assert druid | {"zookeeper", "druid-metadata"} <= services
    assert {"kafka", "moto", "grafana", "airflow", "streaming", "api", "supervisors", "topics"} <= services


def test_images_are_pinned_to_the_versions_the_project_runs(compose) -> None:
    images = {name: s["image"] for name, s in _services(compose).items()}
    for name, image in images.items():
        if image == PROJECT_IMAGE:
            continue
        repository, _, tag = image.rpartition(":")
        assert repository and re.match(r"^\d+(\.\d+)+$", tag), f"{name}: {image} is not pinned to a version"
    assert images["kafka"] == f"apache/kafka:{_pom('kafka.version')}"
    assert all(
        images[n] == f"apache/druid:{_pom('druid.version')}"
        for n in images
        if n.startswith("druid-") and n != "druid-metadata"
    )
    # The dashboards are built with grafana-foundation-sdk's 11.6 line (pyproject.toml).
    assert images["grafana"].startswith("grafana/grafana-oss:11.6.")
    project = [n for n, s in _services(compose).items() if s["image"] == PROJECT_IMAGE]
    assert set(project) >= {"streaming", "api", "airflow", "supervisors"}
    assert all(_services(compose)[n]["build"] == "." for n in project)


def test_every_file_it_reads_exists(compose) -> None:
    for name, service in _services(compose).items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: {source} missing"
        env_files = service.get("env_file", [])
        for env_file in [env_files] if isinstance(env_files, str) else env_files:
            path = env_file if isinstance(env_file, str) else env_file["path"]
            required = isinstance(env_file, str) or env_file.get("required", True)
            assert not required or (ROOT / path).is_file(), f"{name}: {path} missing"
    assert (ROOT / "Dockerfile").is_file()
    druid_env = dict(
        line.split("=", 1)
        for line in (ROOT / "infra" / "compose" / "druid.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    # The metadata store and ZooKeeper it names are the services of the file.
    assert "//druid-metadata:5432/druid" in druid_env["druid_metadata_storage_connector_connectURI"]
    assert druid_env["druid_zk_service_host"] == "zookeeper"
    assert "druid-kafka-indexing-service" in druid_env["druid_extensions_loadList"]


def test_host_ports_are_distinct_and_those_of_the_settings(compose) -> None:
    published: dict[int, str] = {}
    for name, service in _services(compose).items():
        for mapping in service.get("ports", []):
            host, _, _container = str(mapping).rpartition(":")
            assert int(host) not in published, f"{name} and {published.get(int(host))} both publish {host}"
            published[int(host)] = name
    assert published[KafkaSettings().port] == "kafka"
    assert published[ApiSettings().port] == "api"
    assert published[DruidSettings().router_port] == "druid-router"
    assert published[DruidSettings().broker_port] == "druid-broker"
    assert published[DruidSettings().coordinator_port] == "druid-coordinator"
    assert published[3000] == "grafana" and published[8080] == "airflow"
    grafana = _services(compose)["grafana"]["environment"]
    assert grafana["DRUID_URL"] == f"${{DRUID_URL:-http://druid-router:{DruidSettings().router_port}}}"


def _setting_exists(variable: str) -> bool:
    model: Any = Settings
    for part in variable.removeprefix("LAKEHOUSE_").lower().split("__"):
        field = model.model_fields.get(part)
        if field is None:
            return False
        model = field.annotation
    return True


def test_every_lakehouse_variable_is_a_setting_and_reaches_the_jobs(compose, monkeypatch) -> None:
    for name, service in _services(compose).items():
        env = service.get("environment", {})
        for variable in (v for v in env if v.startswith("LAKEHOUSE_")):
            assert _setting_exists(variable), f"{name}: {variable} is no setting"
    env = _services(compose)["streaming"]["environment"]
    for variable, value in env.items():
        monkeypatch.setenv(variable, str(value))
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.kafka.bootstrap == "kafka:19092"
    assert settings.druid.broker_url == settings.druid.overlord_url == "http://druid-router:8888"
    assert str(settings.state_dir) == "/data"
    # Inside the image the project is /app, so ../shared mounted at /shared is the shared data.
    assert Settings(project_root=Path("/app")).shared_data_dir == Path("/shared/data")


def test_every_project_command_parses(compose) -> None:
    for name, service in _services(compose).items():
        if service["image"] != PROJECT_IMAGE or "command" not in service or "entrypoint" in service:
            continue
        result = CliRunner().invoke(main, [*service["command"], "--help"])
        assert result.exit_code == 0, f"{name}: `lakehouse {' '.join(service['command'])}`: {result.output}"


def test_dependencies_name_services(compose) -> None:
    services = _services(compose)
    for name, service in services.items():
        depends = service.get("depends_on", [])
        for dependency in depends if isinstance(depends, list) else depends.keys():
            assert dependency in services, f"{name} depends on unknown {dependency}"

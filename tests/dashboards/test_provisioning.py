"""Grafana provisioning and the compose service point at the dashboards and datasource they serve."""

from __future__ import annotations

from pathlib import Path

import yaml

from dashboards.build import JSON_DIR
from dashboards.druid import DATASOURCE_UID, PLUGIN_ID
from dashboards.layout import FOLDER

ROOT = JSON_DIR.parents[1]
PROVISIONING = JSON_DIR.parent / "provisioning"


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _grafana() -> dict:
    return _yaml(ROOT / "docker-compose.yml")["services"]["grafana"]


def _mounts() -> dict[str, str]:
    """Container path -> host path (relative to the project) of the grafana service's bind mounts."""
    out = {}
    for volume in _grafana()["volumes"]:
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            out[target] = source[2:]
    return out


def test_datasource_is_the_druid_plugin_with_the_uid_the_dashboards_use() -> None:
    (ds,) = _yaml(PROVISIONING / "datasources" / "druid.yaml")["datasources"]
    assert ds["type"] == PLUGIN_ID and ds["uid"] == DATASOURCE_UID
    assert (
        ds["url"] == "$DRUID_URL" and ds["jsonData"]["connection.url"] == "$DRUID_URL"
    )  # the plugin reads jsonData
    # overridable, and by default the router of the compose file's own Druid
    assert _grafana()["environment"]["DRUID_URL"].startswith("${DRUID_URL:-http://druid-router:")
    assert "druid-router" in _grafana()["depends_on"]


def test_dashboard_provider_loads_the_generated_json_into_the_folder() -> None:
    (provider,) = _yaml(PROVISIONING / "dashboards" / "dashboards.yaml")["providers"]
    assert provider["type"] == "file" and provider["folder"] == FOLDER
    mounts = _mounts()
    assert mounts[provider["options"]["path"]] == "dashboards/json"
    assert (ROOT / mounts[provider["options"]["path"]]).resolve() == JSON_DIR


def test_compose_service_installs_the_plugin_and_mounts_the_provisioning() -> None:
    grafana = _grafana()
    assert grafana["image"].startswith("grafana/grafana-oss:11.6.")
    assert PLUGIN_ID in grafana["environment"]["GF_INSTALL_PLUGINS"].split(",")
    mounts = _mounts()
    for kind in ("datasources", "dashboards", "alerting"):
        host = mounts[f"/etc/grafana/provisioning/{kind}"]
        assert (ROOT / host).resolve() == (PROVISIONING / kind).resolve()
        assert list((ROOT / host).glob("*.yaml"))
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    folder, name = home.rsplit("/", 1)
    assert (ROOT / mounts[folder] / name).is_file()

"""Versions that must agree across files: pom, pyproject and docker-compose."""

from __future__ import annotations

import re
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def _pom_property(name: str) -> str:
    node = ET.parse(ROOT / "infra" / "jvm" / "pom.xml").getroot().find(f"m:properties/m:{name}", NS)
    assert node is not None and node.text, name
    return node.text


def _pinned(package: str) -> str:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in deps:
        match = re.fullmatch(rf"{re.escape(package)}(\[[^\]]*\])?==([\w.]+)", dep)
        if match:
            return match.group(2)
    raise AssertionError(f"{package} is not pinned with == in pyproject.toml")


def test_spark_connector_matches_pyspark() -> None:
    assert _pom_property("spark.version") == _pinned("pyspark")


def test_iceberg_runtime_is_for_this_spark_line() -> None:
    spark_line = ".".join(_pom_property("spark.version").split(".")[:2])
    spark_pom = (ROOT / "infra" / "jvm" / "spark" / "pom.xml").read_text()
    assert f"iceberg-spark-runtime-{spark_line}_2.13" in spark_pom
    assert _pom_property("iceberg.version").startswith("1.10.")


def test_compose_runs_the_same_kafka_as_the_local_stack() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["services"]["kafka"]["image"] == f"apache/kafka:{_pom_property('kafka.version')}"

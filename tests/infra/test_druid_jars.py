"""Druid assembled from Maven Central as its distribution lays it out: lib/ and extensions/<name>/."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from infra.stack.druid import EXTENSIONS
from lakehouse import jvm
from lakehouse.config import Settings

ROOT = Path(__file__).resolve().parents[2]
NS = {"m": "http://maven.apache.org/POM/4.0.0"}
_VERSION = re.compile(r"-\d[\w.]*\.jar$")


def _artifact(jar: Path) -> str:
    """`kafka-clients-3.9.0.jar` -> `kafka-clients`."""
    return _VERSION.sub("", jar.name)


def _druid_version() -> str:
    node = ET.parse(ROOT / "infra" / "jvm" / "pom.xml").getroot().find("m:properties/m:druid.version", NS)
    assert node is not None and node.text
    return node.text


def test_core_classpath_has_druid_derby_and_zookeeper() -> None:
    lib = {_artifact(j): j.name for j in jvm.module_jars("druid", Settings())}
    version = _druid_version()
    for artifact in ("druid-services", "druid-server", "druid-sql", "druid-indexing-service"):
        assert lib[artifact] == f"{artifact}-{version}.jar"
    assert {"derby", "derbynet", "derbyclient", "zookeeper", "log4j-core", "log4j-slf4j-impl"} <= lib.keys()
    # One SLF4J binding only (log4j's); Logback would make the logging config a coin toss.
    assert "logback-classic" not in lib
    assert not any(a.startswith("druid-kafka-indexing") or a == "druid-datasketches" for a in lib)


def test_each_extension_folder_holds_only_what_the_core_lacks() -> None:
    home = jvm.druid_home(Settings())
    core = {_artifact(j) for j in (home / "lib").glob("*.jar")}
    folders = {p.name: {_artifact(j) for j in p.glob("*.jar")} for p in (home / "extensions").iterdir()}
    assert set(folders) == set(EXTENSIONS)
    assert folders["druid-kafka-indexing-service"] == {"druid-kafka-indexing-service", "kafka-clients"}
    assert folders["druid-datasketches"] == {"druid-datasketches"}
    for name, jars in folders.items():
        assert not jars & core, f"{name} duplicates core jars: {sorted(jars & core)}"

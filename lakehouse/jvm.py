"""JVM artifacts (Kafka, Spark connectors, Iceberg, Druid) resolved from Maven Central.

`infra/jvm/pom.xml` declares them; `ensure_jars` runs Maven once into the ignored
`.cache/` folder and records a stamp of the poms, so later calls are free and a change to
a pom triggers a new resolution.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from lakehouse.config import Settings, get_settings
from lakehouse.log import get_logger

log = get_logger(__name__)

MODULES = ("kafka", "spark", "druid")


class JvmSetupError(RuntimeError):
    """Java or Maven is missing, or Maven could not resolve the artifacts."""


def _pom_dir(settings: Settings) -> Path:
    return settings.project_root / "infra" / "jvm"


def _poms_digest(settings: Settings) -> str:
    digest = hashlib.sha256()
    for pom in sorted(_pom_dir(settings).rglob("*.xml")):
        digest.update(pom.read_bytes())
    return digest.hexdigest()


def java_executable() -> str:
    """The `java` to run services with: $JAVA_HOME/bin/java, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise JvmSetupError("No `java` found: install a JDK 17 and put it on PATH or set JAVA_HOME.")
    return found


def ensure_jars(settings: Settings | None = None) -> Path:
    """Resolve every JVM module's jars into `<cache>/jars/<module>`; idempotent."""
    settings = settings or get_settings()
    jars_dir = settings.jars_dir
    stamp = jars_dir / ".stamp"
    digest = _poms_digest(settings)
    if stamp.exists() and stamp.read_text() == digest and all((jars_dir / m).is_dir() for m in MODULES):
        return jars_dir
    mvn = shutil.which("mvn")
    if not mvn:
        raise JvmSetupError("No `mvn` found: install Maven 3.8+ to resolve the JVM artifacts.")
    if jars_dir.exists():
        shutil.rmtree(jars_dir)
    pom_dir = _pom_dir(settings)
    cmd = [
        mvn,
        "-B",
        "-q",
        "-s",
        str(pom_dir / "settings.xml"),
        "-f",
        str(pom_dir / "pom.xml"),
        f"-Dmaven.repo.local={settings.cache_dir / 'm2'}",
        f"-Djars.root={jars_dir}",
        "package",
    ]
    log.info("resolving JVM artifacts from Maven Central", modules=list(MODULES), into=str(jars_dir))
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        output = f"{result.stdout[-4000:]}{result.stderr[-4000:]}"
        raise JvmSetupError(f"Maven failed ({result.returncode}):\n{output}")
    stamp.write_text(digest)
    return jars_dir


def module_jars(module: str, settings: Settings | None = None) -> list[Path]:
    """The jars of one JVM module (resolving them first if needed), sorted by name.

    A module laid out as a distribution (Druid: `lib/` plus `extensions/`) gives its `lib/`.
    """
    if module not in MODULES:
        raise ValueError(f"unknown JVM module {module!r}; expected one of {MODULES}")
    folder = ensure_jars(settings) / module
    jars = sorted((folder / "lib" if (folder / "lib").is_dir() else folder).glob("*.jar"))
    if not jars:
        raise JvmSetupError(f"no jars for {module!r} under {(settings or get_settings()).jars_dir}")
    return jars


def druid_home(settings: Settings | None = None) -> Path:
    """Druid laid out as its distribution is: `lib/` (the core classpath), `extensions/<name>/`."""
    home = ensure_jars(settings) / "druid"
    if not any((home / "lib").glob("*.jar")):
        raise JvmSetupError(f"no Druid jars under {home / 'lib'}; run `lakehouse setup`")
    return home


def classpath(module: str, settings: Settings | None = None) -> str:
    return os.pathsep.join(str(j) for j in module_jars(module, settings))

"""Architecture rules that keep the layers independent, checked on the source itself."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("producers", "streaming", "iceberg", "batch", "serving", "dashboards", "infra", "cli", "dags")
# Which top-level packages each package may import from this project (the README's table says
# the same, and `test_readme_states_the_same_rules` holds the two together).
ALLOWED: dict[str, set[str]] = {
    "lakehouse": set(),  # the shared core imports no layer
    "producers": {"lakehouse"},
    "streaming": {"lakehouse", "iceberg"},  # iceberg: the table definitions it writes
    "iceberg": {"lakehouse"},
    "batch": {"lakehouse", "iceberg"},
    "serving": {"lakehouse"},
    "dashboards": {"lakehouse"},
    "infra": {"lakehouse", "iceberg"},  # iceberg: the table namespaces that get Glue databases
    "dags": {"lakehouse", "iceberg", "batch"},  # thin DAG files over the batch layer and tables
    "cli": {"lakehouse", *LAYERS},  # the entry point wires the layers together
    "bench": {"lakehouse", *LAYERS, "tests"},  # benchmarks drive every layer, with test samples
}
PROJECT = set(ALLOWED) | set(LAYERS) | {"tests"}


def _project_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & PROJECT


def test_every_package_has_a_rule() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/*.py") if p.parent.name not in ("tests", ".venv")}
    packages = {p for p in packages if not p.startswith(".")}
    assert packages - set(ALLOWED) == set(), "add the new package to ALLOWED and the README's table"


def test_no_layer_imports_another_layers_code() -> None:
    violations = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for imported in _project_imports(path) - allowed - {package}:
                violations.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert violations == []


def test_readme_states_the_same_rules() -> None:
    """The README's layering table lists, per package, exactly what ALLOWED allows."""
    section = (ROOT / "README.md").read_text().split("<!-- layering -->")[1]
    stated: dict[str, set[str]] = {}
    for line in section.splitlines():
        match = re.match(r"^\| `(\w+)/` \| (.*) \|$", line.strip())
        if match:
            names = set(re.findall(r"`(\w+)`", match[2]))
            stated[match[1]] = names | ({"lakehouse", *LAYERS} if "every package" in match[2] else set())
        elif stated:
            break
    assert stated == ALLOWED


def test_the_wheel_ships_only_product_packages() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = set(config["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"])
    assert shipped == {"lakehouse", *LAYERS} - {"dags"}


def test_source_is_ruff_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--quiet", str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr

"""Architecture rules that keep the layers independent, checked on the source itself."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("producers", "streaming", "iceberg", "batch", "serving", "dashboards", "infra", "cli", "dags")
# Which top-level packages each package may import from this project.
ALLOWED = {
    "lakehouse": set(),  # the shared core imports no layer
    "producers": {"lakehouse"},
    "streaming": {"lakehouse", "iceberg"},
    "iceberg": {"lakehouse"},
    "batch": {"lakehouse", "iceberg"},
    "serving": {"lakehouse"},
    "dashboards": {"lakehouse"},
    "infra": {"lakehouse"},
    "dags": {"lakehouse", "iceberg", "producers", "batch"},
    "cli": {"lakehouse", *LAYERS},  # the entry point wires the layers together
}


def _project_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & (set(ALLOWED) | set(LAYERS))


def test_no_layer_imports_another_layers_code() -> None:
    violations = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for imported in _project_imports(path) - allowed - {package}:
                violations.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert violations == []


def test_source_is_ruff_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--quiet", str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr

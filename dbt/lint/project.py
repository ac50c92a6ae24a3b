"""The project's ``vars`` from dbt_project.yml, for the lint-only ``var()`` in lint/macros/."""

from pathlib import Path

import yaml

vars = yaml.safe_load((Path(__file__).resolve().parents[1] / "dbt_project.yml").read_text())["vars"]

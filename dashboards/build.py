"""Write every dashboard's JSON to ``dashboards/json/<uid>.json`` and the alert rules to
``dashboards/provisioning/alerting/rules.yaml`` (committed; a test checks drift).

python -m dashboards.build            # regenerate
python -m dashboards.build --check    # exit 1 if a committed file differs from the code
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from dashboards import alerts
from dashboards.registry import DASHBOARDS
from dashboards.validate import problems
from lakehouse.log import configure_logging, get_logger

JSON_DIR = Path(__file__).resolve().parent / "json"
ALERT_RULES = Path(__file__).resolve().parent / "provisioning" / "alerting" / "rules.yaml"
log = get_logger(__name__)


def render(dashboard: Dashboard) -> str:
    """Stable text: sorted keys, two-space indent, trailing newline (diffs stay small)."""
    return json.dumps(dashboard, cls=JSONEncoder, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def rendered() -> dict[str, str]:
    """File name -> JSON text for every dashboard, as the code builds them now."""
    return {f"{uid}.json": render(spec.build()) for uid, spec in DASHBOARDS.items()}


def stale(out_dir: Path = JSON_DIR) -> list[str]:
    """Files missing, differing from the code, or no longer built."""
    expected = rendered()
    found = {p.name for p in out_dir.glob("*.json")} if out_dir.is_dir() else set()
    differ = [n for n, text in expected.items() if n not in found or (out_dir / n).read_text() != text]
    if out_dir == JSON_DIR and (not ALERT_RULES.exists() or ALERT_RULES.read_text() != alerts.render()):
        differ.append(str(ALERT_RULES.relative_to(JSON_DIR.parent)))
    return sorted(differ + sorted(found - set(expected)))


def write(out_dir: Path = JSON_DIR) -> list[Path]:
    """Write every dashboard and remove JSON files of dashboards no longer built."""
    out_dir.mkdir(parents=True, exist_ok=True)
    expected = rendered()
    for old in out_dir.glob("*.json"):
        if old.name not in expected:
            old.unlink()
    paths = []
    for name, text in expected.items():
        path = out_dir / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        paths.append(path)
    if out_dir == JSON_DIR:
        ALERT_RULES.parent.mkdir(parents=True, exist_ok=True)
        ALERT_RULES.write_text(alerts.render())
        paths.append(ALERT_RULES)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards.build", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=JSON_DIR, help="output folder (default: dashboards/json)")
    parser.add_argument("--check", action="store_true", help="only report files that differ; exit 1 if any")
    args = parser.parse_args(argv)
    configure_logging()
    invalid = {name: found for name, text in rendered().items() if (found := problems(text))}
    if invalid:
        for name, found in invalid.items():
            log.error("invalid dashboard", file=name, problems=found)
        return 1
    if args.check:
        differ = stale(args.out)
        if differ:
            log.error("dashboards out of date; run python -m dashboards.build", files=differ)
            return 1
        log.info("dashboards up to date", count=len(DASHBOARDS))
        return 0
    paths = write(args.out)
    log.info("dashboards written", count=len(paths), folder=str(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

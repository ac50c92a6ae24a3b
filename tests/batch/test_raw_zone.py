"""The raw zone: files land once per content, locally and on S3 (moto), and read back unchanged."""

from __future__ import annotations

import uuid
from pathlib import Path

import boto3
import pytest

from batch.pipeline import backfill
from batch.raw_zone import RawZone, football_data_key
from infra.stack.moto import MotoServer
from lakehouse.config import BatchSettings, CatalogSettings, Settings

KEY = football_data_key("E0", "2023-24", "E0_2324.csv")


def check_idempotent_landing(zone: RawZone) -> None:
    first = zone.land(b"Div,Date\r\nE0,11/08/2023\r\n", KEY)
    again = zone.land(b"Div,Date\r\nE0,11/08/2023\r\n", KEY)
    changed = zone.land(b"Div,Date\r\nE0,12/08/2023\r\n", KEY)
    assert (first.outcome, again.outcome, changed.outcome) == ("landed", "unchanged", "replaced")
    assert first.sha256 == again.sha256 != changed.sha256
    assert zone.read(KEY) == b"Div,Date\r\nE0,12/08/2023\r\n"
    assert first.uri.endswith("football_data/league=E0/season=2023-24/E0_2324.csv")


def test_local_zone(tmp_path: Path) -> None:
    zone = RawZone(str(tmp_path / "raw"))
    check_idempotent_landing(zone)
    landed = tmp_path / "raw" / KEY
    assert landed.exists() and not list(landed.parent.glob(".*"))  # no temporary file left behind


@pytest.mark.integration
def test_s3_zone(moto_server: MotoServer) -> None:
    bucket = f"raw-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3", endpoint_url=moto_server.endpoint, region_name="eu-west-1")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    zone = RawZone(f"s3://{bucket}/landing", s3_endpoint=moto_server.endpoint, region="eu-west-1")
    check_idempotent_landing(zone)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [f"landing/{KEY}"]
    head = s3.head_object(Bucket=bucket, Key=f"landing/{KEY}")
    assert head["Metadata"]["sha256"] == zone.land(zone.read(KEY), KEY).sha256


@pytest.mark.integration
def test_backfill_through_an_s3_raw_zone(moto_server: MotoServer, tmp_path: Path) -> None:
    bucket = f"raw-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=moto_server.endpoint, region_name="eu-west-1").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    settings = Settings(
        state_dir=tmp_path,
        catalog=CatalogSettings(kind="local", s3_endpoint=moto_server.endpoint),
        batch=BatchSettings(raw_zone=f"s3://{bucket}/raw"),
    )
    first = backfill(settings, leagues=["SP1"], seasons=["2021-22"])
    second = backfill(settings, leagues=["SP1"], seasons=["2021-22"])
    assert first.landed == {"landed": 1} and second.landed == {"unchanged": 1}
    assert first.iceberg == second.iceberg == first.warehouse
    assert first.iceberg["football_data_matches"] == 380
    assert not (tmp_path / "raw").exists()  # nothing landed locally

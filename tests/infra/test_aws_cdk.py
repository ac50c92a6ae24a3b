"""The AWS stacks, synthesized offline and asserted (aws_cdk.assertions): what production gets.

Least privilege is checked on the synthesized policies themselves: no action wildcard, no
resource wildcard except where AWS offers no resource (CloudWatch metrics, with a namespace
condition), the jobs' Glue access on the project's databases only, Airflow passing one role.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import infra.aws  # noqa: F401  (quiets jsii's Node banner before aws_cdk loads)
from infra.aws.stacks import Names, build, namespaces, production_settings
from lakehouse.config import Settings

aws_cdk = pytest.importorskip("aws_cdk")
from aws_cdk import assertions  # noqa: E402


@pytest.fixture(scope="module")
def stacks() -> dict[str, Any]:
    app = aws_cdk.App()
    env = aws_cdk.Environment(account="123456789012", region="eu-west-1")
    storage, runtime = build(app, Names("bl-test"), env)
    return {
        "storage": storage,
        "runtime": runtime,
        "storage_t": assertions.Template.from_stack(storage),
        "runtime_t": assertions.Template.from_stack(runtime),
    }


def _resources(template: Any, kind: str) -> dict[str, Any]:
    return template.find_resources(kind)


def test_buckets_are_private_encrypted_tls_only_and_kept(stacks) -> None:
    t = stacks["storage_t"]
    buckets = _resources(t, "AWS::S3::Bucket")
    assert len(buckets) == 3
    for logical, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, logical
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"], logical
        assert bucket["DeletionPolicy"] == "Retain", logical
    policies = _resources(t, "AWS::S3::BucketPolicy")
    assert len(policies) == 3
    for policy in policies.values():
        denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)


def test_a_glue_database_per_namespace_of_the_project_tables(stacks) -> None:
    databases = _resources(stacks["storage_t"], "AWS::Glue::Database")
    names = sorted(d["Properties"]["DatabaseInput"]["Name"] for d in databases.values())
    assert names == namespaces() and {"bronze", "silver", "gold", "history"} <= set(names)


def _statements(template: Any) -> list[dict[str, Any]]:
    out = []
    for policy in _resources(template, "AWS::IAM::Policy").values():
        out += policy["Properties"]["PolicyDocument"]["Statement"]
    return out


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_least_privilege(stacks) -> None:
    statements = _statements(stacks["runtime_t"])
    assert statements
    for s in statements:
        actions = _listed(s["Action"])
        assert all(a != "*" and not a.endswith(":*") for a in actions), s
        if "*" in _listed(s["Resource"]):
            # Only CloudWatch metrics, which have no resource ARN, limited by namespace.
            assert actions == ["cloudwatch:PutMetricData"] and s["Condition"], s
    glue = [s for s in statements if any(a.startswith("glue:") for a in _listed(s["Action"]))]
    assert len(glue) == 2  # the jobs' role and Airflow's
    for s in glue:
        text = json.dumps(s["Resource"])
        assert "database/" in text and "table/" in text and "database/*" not in text
    passes = [s for s in statements if "iam:PassRole" in _listed(s["Action"])]
    assert len(passes) == 1 and len(_listed(passes[0]["Resource"])) == 1
    assert passes[0]["Condition"] == {"StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}}
    roles = _resources(stacks["runtime_t"], "AWS::IAM::Role")
    principals = [json.dumps(r["Properties"]["AssumeRolePolicyDocument"]) for r in roles.values()]
    assert any("emr-serverless.amazonaws.com" in p for p in principals)
    assert any("airflow-env.amazonaws.com" in p for p in principals)


def test_spark_and_airflow_runtime(stacks) -> None:
    t = stacks["runtime_t"]
    t.has_resource_properties("AWS::EMRServerless::Application", {"Type": "SPARK"})
    env = next(iter(_resources(t, "AWS::MWAA::Environment").values()))["Properties"]
    assert env["WebserverAccessMode"] == "PRIVATE_ONLY" and env["DagS3Path"] == "dags"
    assert len(env["NetworkConfiguration"]["SubnetIds"]) == 2
    assert env["StartupScriptS3Path"] == "startup/lakehouse-env.sh"


def test_the_settings_it_exports_are_real_settings(stacks, monkeypatch) -> None:
    settings = production_settings(stacks["storage"])
    resolved = aws_cdk.Stack.of(stacks["storage"]).resolve(settings)
    assert set(resolved) == {
        "LAKEHOUSE_CATALOG__KIND",
        "LAKEHOUSE_CATALOG__AWS_REGION",
        "LAKEHOUSE_CATALOG__S3_WAREHOUSE",
        "LAKEHOUSE_STREAMING__CHECKPOINT_ROOT",
        "LAKEHOUSE_BATCH__RAW_ZONE",
    }
    for variable in resolved:
        monkeypatch.setenv(variable, "s3://bucket/x" if variable != "LAKEHOUSE_CATALOG__KIND" else "glue")
    loaded = Settings(_env_file=None)  # type: ignore[call-arg]
    assert loaded.catalog.kind == "glue" and loaded.catalog.s3_warehouse == "s3://bucket/x"
    assert loaded.streaming.checkpoint_root == "s3://bucket/x" and loaded.batch.raw_zone == "s3://bucket/x"

"""The production AWS footprint: storage and catalog, then the Spark and Airflow runtime.

- ``LakeStorage``: the lake bucket (Iceberg warehouse and streaming checkpoints), the raw zone
  bucket (football-data files as fetched, versioned) and the artifacts bucket (DAGs, job code,
  Airflow requirements); every bucket private, encrypted, TLS-only, kept on stack deletion.  A
  Glue database per Iceberg namespace the project writes (derived from the table definitions,
  so a new namespace gets its database).
- ``Runtime``: EMR Serverless (Spark) for the streaming and batch jobs, MWAA (Airflow) for the
  DAGs in a VPC of its own, and one IAM role each with least privilege: the jobs' role reads
  and writes the lake and reads the raw zone and artifacts, on the project's Glue databases
  only; Airflow's role may start job runs on that one application and pass that one role.

Kafka (MSK, or any cluster) and Snowflake are outside: the jobs reach them through settings
(README, production settings); Snowflake's objects are ``infra/snowflake``.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_emrserverless as emrs
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_mwaa as mwaa
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from iceberg.history import HISTORY_TABLES
from iceberg.models import MODEL_TABLES
from iceberg.tables import TABLES

WAREHOUSE_PREFIX = "warehouse"
CHECKPOINT_PREFIX = "checkpoints"
EMR_RELEASE = "emr-7.9.0"  # Spark 3.5 on EMR; the jobs' Spark 4 image is set by `image_uri`
AIRFLOW_VERSION = "3.0.6"
STARTUP_SCRIPT = "startup/lakehouse-env.sh"


def namespaces() -> list[str]:
    """Every Iceberg namespace the project's tables live in: one Glue database each."""
    tables = [*TABLES.values(), *HISTORY_TABLES.values(), *MODEL_TABLES.values()]
    return sorted({t.namespace for t in tables})


@dataclass(frozen=True)
class Names:
    """The deployment's names; ``prefix`` keeps two deployments in one account apart."""

    prefix: str = "betting-lakehouse"

    def bucket(self, role: str) -> str:
        return f"{self.prefix}-{role}-{cdk.Aws.ACCOUNT_ID}-{cdk.Aws.REGION}"


def _bucket(scope: Construct, id_: str, name: str, versioned: bool = False) -> s3.Bucket:
    return s3.Bucket(
        scope,
        id_,
        bucket_name=name,
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        versioned=versioned,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removal_policy=cdk.RemovalPolicy.RETAIN,
        lifecycle_rules=[s3.LifecycleRule(abort_incomplete_multipart_upload_after=cdk.Duration.days(2))],
    )


class LakeStorage(cdk.Stack):
    def __init__(self, scope: Construct, id_: str, names: Names, **kwargs: object) -> None:
        super().__init__(scope, id_, **kwargs)
        self.lake = _bucket(self, "Lake", names.bucket("lake"))
        self.raw = _bucket(self, "Raw", names.bucket("raw"), versioned=True)
        self.artifacts = _bucket(self, "Artifacts", names.bucket("artifacts"), versioned=True)
        self.databases = {
            ns: glue.CfnDatabase(
                self,
                f"Database{ns.title()}",
                catalog_id=self.account,
                database_input=glue.CfnDatabase.DatabaseInputProperty(
                    name=ns, location_uri=self.lake.s3_url_for_object(f"{WAREHOUSE_PREFIX}/{ns}.db")
                ),
            )
            for ns in namespaces()
        }
        # What the jobs' settings become (README, production settings).
        cdk.CfnOutput(self, "CatalogWarehouse", value=self.lake.s3_url_for_object(WAREHOUSE_PREFIX))
        cdk.CfnOutput(self, "CheckpointRoot", value=f"s3a://{self.lake.bucket_name}/{CHECKPOINT_PREFIX}")
        cdk.CfnOutput(self, "RawZone", value=self.raw.s3_url_for_object("football-data"))


def production_settings(storage: LakeStorage) -> dict[str, str]:
    """The jobs' settings on this deployment (``lakehouse.config`` variables)."""
    return {
        "LAKEHOUSE_CATALOG__KIND": "glue",
        "LAKEHOUSE_CATALOG__AWS_REGION": storage.region,
        "LAKEHOUSE_CATALOG__S3_WAREHOUSE": storage.lake.s3_url_for_object(WAREHOUSE_PREFIX),
        "LAKEHOUSE_STREAMING__CHECKPOINT_ROOT": f"s3a://{storage.lake.bucket_name}/{CHECKPOINT_PREFIX}",
        "LAKEHOUSE_BATCH__RAW_ZONE": storage.raw.s3_url_for_object("football-data"),
    }


def startup_script(storage: LakeStorage) -> str:
    lines = [f'export {k}="{v}"' for k, v in production_settings(storage).items()]
    return (
        "#!/bin/sh\n# Written by infra/aws (LakehouseRuntime): the lakehouse settings of the DAGs.\n"
        + "\n".join(lines)
        + "\n"
    )


class Runtime(cdk.Stack):
    def __init__(
        self, scope: Construct, id_: str, storage: LakeStorage, names: Names, **kwargs: object
    ) -> None:
        super().__init__(scope, id_, **kwargs)
        self.spark = emrs.CfnApplication(
            self,
            "Spark",
            name=f"{names.prefix}-spark",
            release_label=EMR_RELEASE,
            type="SPARK",
            auto_start_configuration=emrs.CfnApplication.AutoStartConfigurationProperty(enabled=True),
            auto_stop_configuration=emrs.CfnApplication.AutoStopConfigurationProperty(
                enabled=True, idle_timeout_minutes=15
            ),
            maximum_capacity=emrs.CfnApplication.MaximumAllowedResourcesProperty(
                cpu="32 vCPU", memory="128 GB"
            ),
        )
        self.jobs_role = iam.Role(
            self,
            "JobsRole",
            assumed_by=iam.ServicePrincipal("emr-serverless.amazonaws.com"),
            description="Spark jobs: lake read/write; raw zone, artifacts read; the Glue databases",
        )
        storage.lake.grant_read_write(self.jobs_role)
        storage.raw.grant_read(self.jobs_role)
        storage.artifacts.grant_read(self.jobs_role)
        self._grant_glue(self.jobs_role, storage)

        vpc = ec2.Vpc(self, "AirflowVpc", max_azs=2, nat_gateways=1)
        airflow_sg = ec2.SecurityGroup(self, "AirflowSg", vpc=vpc, description="MWAA: its own members only")
        airflow_sg.add_ingress_rule(airflow_sg, ec2.Port.all_traffic(), "MWAA components talk to each other")
        environment = f"{names.prefix}-airflow"
        self.airflow_role = iam.Role(
            self,
            "AirflowRole",
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("airflow.amazonaws.com"),
                iam.ServicePrincipal("airflow-env.amazonaws.com"),
            ),
            description="MWAA: DAGs, logs, Spark job runs, the batch tasks' lake access",
        )
        storage.artifacts.grant_read(self.airflow_role)
        # historical_backfill and lake_to_warehouse run in the Airflow workers (pyiceberg, DuckDB
        # or Snowflake), so the workers write the lake and the raw zone too.
        storage.lake.grant_read_write(self.airflow_role)
        storage.raw.grant_read_write(self.airflow_role)
        self._grant_glue(self.airflow_role, storage)
        self.airflow_role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "emr-serverless:StartJobRun",
                    "emr-serverless:GetJobRun",
                    "emr-serverless:CancelJobRun",
                ],
                resources=[self.spark.attr_arn, f"{self.spark.attr_arn}/jobruns/*"],
            )
        )
        self.airflow_role.add_to_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.jobs_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}},
            )
        )
        logs_arn = self.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"airflow-{environment}-*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        self.airflow_role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogStream",
                    "logs:CreateLogGroup",
                    "logs:PutLogEvents",
                    "logs:GetLogEvents",
                    "logs:GetLogRecord",
                    "logs:GetLogGroupFields",
                    "logs:GetQueryResults",
                ],
                resources=[logs_arn, f"{logs_arn}:*"],
            )
        )
        # MWAA's Celery queues live in an AWS-owned account (airflow-celery-*), per its docs.
        self.airflow_role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "sqs:ChangeMessageVisibility",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:GetQueueUrl",
                    "sqs:ReceiveMessage",
                    "sqs:SendMessage",
                ],
                resources=[f"arn:{cdk.Aws.PARTITION}:sqs:{cdk.Aws.REGION}:*:airflow-celery-*"],
            )
        )
        self.airflow_role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": "AmazonMWAA"}},
            )
        )
        # The DAGs read their settings from the environment (lakehouse.config): MWAA's startup
        # script exports them, with this deployment's buckets.
        s3deploy.BucketDeployment(
            self,
            "AirflowSettings",
            destination_bucket=storage.artifacts,
            sources=[s3deploy.Source.data(STARTUP_SCRIPT, startup_script(storage))],
            prune=False,
        )
        private = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS).subnet_ids
        self.airflow = mwaa.CfnEnvironment(
            self,
            "Airflow",
            name=environment,
            airflow_version=AIRFLOW_VERSION,
            environment_class="mw1.small",
            execution_role_arn=self.airflow_role.role_arn,
            source_bucket_arn=storage.artifacts.bucket_arn,
            dag_s3_path="dags",
            requirements_s3_path="requirements/airflow.txt",
            webserver_access_mode="PRIVATE_ONLY",
            network_configuration=mwaa.CfnEnvironment.NetworkConfigurationProperty(
                security_group_ids=[airflow_sg.security_group_id], subnet_ids=private[:2]
            ),
            airflow_configuration_options={"core.load_examples": "False"},
            startup_script_s3_path=STARTUP_SCRIPT,
            logging_configuration=mwaa.CfnEnvironment.LoggingConfigurationProperty(
                task_logs=mwaa.CfnEnvironment.ModuleLoggingConfigurationProperty(
                    enabled=True, log_level="INFO"
                ),
                scheduler_logs=mwaa.CfnEnvironment.ModuleLoggingConfigurationProperty(
                    enabled=True, log_level="WARNING"
                ),
            ),
        )
        cdk.CfnOutput(self, "SparkApplicationId", value=self.spark.attr_application_id)
        cdk.CfnOutput(self, "JobsRoleArn", value=self.jobs_role.role_arn)

    def _grant_glue(self, role: iam.Role, storage: LakeStorage) -> None:
        """Iceberg's Glue catalog calls, on the project's databases and their tables only."""
        databases = [db.ref for db in storage.databases.values()]
        arn = lambda resource, name: self.format_arn(  # noqa: E731
            service="glue",
            resource=resource,
            resource_name=name,
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "glue:GetDatabase",
                    "glue:GetDatabases",
                    "glue:GetTable",
                    "glue:GetTables",
                    "glue:CreateTable",
                    "glue:UpdateTable",
                    "glue:DeleteTable",
                ],
                resources=[
                    self.format_arn(service="glue", resource="catalog"),
                    *(arn("database", db) for db in databases),
                    *(arn("table", f"{db}/*") for db in databases),
                ],
            )
        )


def build(
    app: cdk.App, names: Names | None = None, env: cdk.Environment | None = None
) -> tuple[LakeStorage, Runtime]:
    names = names or Names()
    storage = LakeStorage(app, "LakehouseStorage", names, env=env)
    runtime = Runtime(app, "LakehouseRuntime", storage, names, env=env)
    return storage, runtime

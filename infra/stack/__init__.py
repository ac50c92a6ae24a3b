"""The local stack: real engines (Kafka, moto S3/Glue, Druid) started from the project's own files."""

from infra.stack.druid import DruidCluster
from infra.stack.kafka import KafkaBroker
from infra.stack.moto import MotoServer
from infra.stack.stack import Stack, StackStatus

__all__ = ["DruidCluster", "KafkaBroker", "MotoServer", "Stack", "StackStatus"]

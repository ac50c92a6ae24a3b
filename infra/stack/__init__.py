"""The local stack: real engines (Kafka, moto S3/Glue) started from the project's own files."""

from infra.stack.kafka import KafkaBroker
from infra.stack.moto import MotoServer
from infra.stack.stack import Stack, StackStatus

__all__ = ["KafkaBroker", "MotoServer", "Stack", "StackStatus"]

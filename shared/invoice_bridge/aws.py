"""boto3 clients, made on first use and reused by a warm function. Endpoints come from AWS_ENDPOINT_URL*."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})


@lru_cache(maxsize=1)
def sqs_client() -> SQSClient:
    return boto3.client("sqs", config=_CONFIG)


@lru_cache(maxsize=1)
def dynamodb_client() -> DynamoDBClient:
    return boto3.client("dynamodb", config=_CONFIG)

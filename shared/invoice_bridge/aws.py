"""boto3 clients, made on first use and reused by a warm function. Endpoints come from AWS_ENDPOINT_URL*.

All of them, the Secrets Manager client behind Powertools' `parameters.get_secret` included, come from boto3's one
default session: a session of its own (what Powertools makes when left alone) loads botocore's handlers, endpoint
data and service index a second time, about a fifth of the receiver's cold first request.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})


@lru_cache(maxsize=1)
def sqs_client() -> SQSClient:
    return boto3.client("sqs", config=_CONFIG)


@lru_cache(maxsize=1)
def dynamodb_client() -> DynamoDBClient:
    return boto3.client("dynamodb", config=_CONFIG)


def secretsmanager_client() -> SecretsManagerClient:
    """With botocore's default configuration, as Powertools makes its own client."""
    return boto3.client("secretsmanager")

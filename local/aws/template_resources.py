"""Create the stack's queue, dead-letter queue, ledger table and secret in moto, read from template.yaml.

template.yaml is the one source of truth: the local stack builds its AWS resources from the same properties
that CloudFormation deploys (visibility timeout, redrive policy, key schema, TTL, secret keys) and hands the
handlers exactly the environment variables the template gives them. Only the intrinsic functions those
resources and variables use are resolved; anything else is reported as an error instead of being guessed.

Physical names follow ``<stack_name>-<LogicalId>`` unless the template names a resource itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import yaml

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_secretsmanager.client import SecretsManagerClient
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

__all__ = [
    "LocalResources",
    "TemplateError",
    "create_resources",
    "function_environment",
    "load_template",
    "secret_placeholder_keys",
]

QUEUE_TYPE: Final = "AWS::SQS::Queue"
TABLE_TYPE: Final = "AWS::DynamoDB::Table"
SECRET_TYPE: Final = "AWS::SecretsManager::Secret"
FUNCTION_TYPE: Final = "AWS::Serverless::Function"


class TemplateError(ValueError):
    """The template uses something the local stack cannot reproduce faithfully."""


# ----------------------------------------------------------------------------------------------------
# Loading: YAML with CloudFormation short-form tags


class _CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that turns ``!Ref x`` into ``{"Ref": x}``, ``!Sub s`` into ``{"Fn::Sub": s}`` and so on."""


def _construct_short_form(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml has no other node kinds
        raise TemplateError(f"unexpected YAML node for !{tag_suffix}")

    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        # "!GetAtt Resource.Attribute" (the attribute itself may contain dots, e.g. Endpoint.Address)
        resource, _, attribute = value.partition(".")
        if not attribute:
            raise TemplateError(f"!GetAtt {value!r} must look like Resource.Attribute")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{tag_suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _construct_short_form)


def load_template(path: Path) -> dict[str, Any]:
    """Parse a CloudFormation/SAM YAML template, short-form intrinsic tags included."""
    with path.open(encoding="utf-8") as stream:
        document = yaml.load(stream, Loader=_CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources mapping)")
    return document


# ----------------------------------------------------------------------------------------------------
# Resolving the few intrinsics the local resources use


_NO_VALUE: Final = object()
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


@dataclass(frozen=True)
class _Context:
    """What a Ref/GetAtt/Sub may refer to while resolving one value."""

    pseudo_parameters: Mapping[str, str]
    parameters: Mapping[str, str]
    refs: Mapping[str, str]
    attributes: Mapping[tuple[str, str], str]
    where: str


def _pseudo_parameters(stack_name: str, region: str) -> dict[str, str]:
    partition = "aws-cn" if region.startswith("cn-") else "aws"
    return {
        "AWS::StackName": stack_name,
        "AWS::Region": region,
        "AWS::Partition": partition,
        "AWS::URLSuffix": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
    }


def _ref(name: object, context: _Context) -> object:
    if not isinstance(name, str):
        raise TemplateError(f"{context.where}: Ref needs a name, got {name!r}")
    if name == "AWS::NoValue":
        return _NO_VALUE
    if name in context.pseudo_parameters:
        return context.pseudo_parameters[name]
    if name in context.parameters:
        return context.parameters[name]
    if name in context.refs:
        return context.refs[name]
    raise TemplateError(f"{context.where}: the local stack cannot resolve Ref {name!r}")


def _get_att(argument: object, context: _Context) -> object:
    if not (isinstance(argument, list) and len(argument) == 2 and all(isinstance(a, str) for a in argument)):
        raise TemplateError(f"{context.where}: Fn::GetAtt needs [Resource, Attribute], got {argument!r}")
    key = (argument[0], argument[1])
    if key not in context.attributes:
        raise TemplateError(f"{context.where}: the local stack cannot resolve Fn::GetAtt {'.'.join(key)}")
    return context.attributes[key]


def _sub(argument: object, context: _Context) -> object:
    variables: dict[str, object] = {}
    if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], dict):
        text = argument[0]
        variables = {name: _resolve(value, context) for name, value in argument[1].items()}
    else:
        text = argument
    if not isinstance(text, str):
        raise TemplateError(f"{context.where}: Fn::Sub needs a string, got {text!r}")

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in variables:
            value = variables[name]
        elif "." in name:
            resource, _, attribute = name.partition(".")
            value = _get_att([resource, attribute], context)
        else:
            value = _ref(name, context)
        if not isinstance(value, str | int):
            raise TemplateError(f"{context.where}: ${{{name}}} does not resolve to a string")
        return str(value)

    # "${!Literal}" is CloudFormation's escape for a literal "${Literal}".
    return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")


_INTRINSICS: Final[dict[str, Callable[[object, _Context], object]]] = {
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
    "Fn::Sub": _sub,
}


def _resolve(value: object, context: _Context) -> object:
    if isinstance(value, dict):
        if len(value) == 1:
            (key,) = value
            if key in _INTRINSICS:
                return _INTRINSICS[key](value[key], context)
            if key.startswith("Fn::") or key == "Condition":
                raise TemplateError(f"{context.where}: the local stack does not support {key}")
        resolved_items = ((k, _resolve(v, context)) for k, v in value.items())
        return {k: v for k, v in resolved_items if v is not _NO_VALUE}
    if isinstance(value, list):
        resolved = (_resolve(item, context) for item in value)
        return [item for item in resolved if item is not _NO_VALUE]
    return value


# ----------------------------------------------------------------------------------------------------
# Reading the template


def _resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    resources: dict[str, dict[str, Any]] = template["Resources"]
    return {name: body for name, body in resources.items() if body.get("Type") == resource_type}


def _properties(resource: Mapping[str, Any]) -> dict[str, Any]:
    properties = resource.get("Properties", {})
    if not isinstance(properties, dict):
        raise TemplateError("Properties must be a mapping")
    return properties


def _check_known(logical_id: str, properties: Mapping[str, Any], known: frozenset[str]) -> None:
    unknown = sorted(set(properties) - known)
    if unknown:
        raise TemplateError(
            f"{logical_id}: the local stack does not reproduce properties {unknown}; "
            "teach local/aws/template_resources.py about them"
        )


def _parameter_values(template: Mapping[str, Any], overrides: Mapping[str, str] | None) -> dict[str, str]:
    """Parameter defaults with overrides applied, checked against AllowedValues and AllowedPattern."""
    declared: dict[str, dict[str, Any]] = template.get("Parameters", {}) or {}
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise ValueError(f"unknown template parameters: {unknown}")
    values: dict[str, str] = {}
    for name, declaration in declared.items():
        if name in overrides:
            value = overrides[name]
        elif "Default" in declaration:
            value = _as_text(declaration["Default"])
        else:
            continue  # no value: a Ref to it fails with a clear error if anything uses it
        allowed = declaration.get("AllowedValues")
        if allowed is not None and value not in {_as_text(item) for item in allowed}:
            raise ValueError(f"parameter {name}={value!r} is not one of {allowed}")
        pattern = declaration.get("AllowedPattern")
        if pattern is not None and re.fullmatch(pattern, value) is None:
            raise ValueError(f"parameter {name}={value!r} does not match {pattern!r}")
        values[name] = value
    return values


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise TemplateError(f"expected a scalar, got {value!r}")


@dataclass(frozen=True)
class _Layout:
    """Which logical resource plays which part."""

    queue_id: str
    dead_letter_queue_id: str
    table_id: str
    secret_id: str


def _dead_letter_target(logical_id: str, properties: Mapping[str, Any]) -> str | None:
    redrive = properties.get("RedrivePolicy")
    if redrive is None:
        return None
    target = redrive.get("deadLetterTargetArn") if isinstance(redrive, dict) else None
    get_att = target.get("Fn::GetAtt") if isinstance(target, dict) and len(target) == 1 else None
    if not (isinstance(get_att, list) and len(get_att) == 2 and get_att[1] == "Arn"):
        raise TemplateError(f"{logical_id}: RedrivePolicy.deadLetterTargetArn must be !GetAtt <Queue>.Arn")
    dead_letter_id = get_att[0]
    if not isinstance(dead_letter_id, str):
        raise TemplateError(f"{logical_id}: RedrivePolicy.deadLetterTargetArn names no resource")
    return dead_letter_id


def _failure_record_queues(template: Mapping[str, Any]) -> set[str]:
    """Queues that only record deployed failures (a schedule's dead letters, a function's failed asynchronous
    runs): the local stack runs the reconciler directly and has neither, so it leaves them out."""
    found: set[str] = set()
    for body in _resources_of_type(template, FUNCTION_TYPE).values():
        properties = _properties(body)
        on_failure = ((properties.get("EventInvokeConfig") or {}).get("DestinationConfig") or {}).get("OnFailure")
        targets = [(on_failure or {}).get("Destination")]
        for event in (properties.get("Events") or {}).values():
            targets.append(((event.get("Properties") or {}).get("DeadLetterConfig") or {}).get("Arn"))
        for target in targets:
            get_att = target.get("Fn::GetAtt") if isinstance(target, dict) else None
            if isinstance(get_att, list) and len(get_att) == 2 and get_att[1] == "Arn":
                found.add(str(get_att[0]))
    return found


def _only(kind: str, names: list[str]) -> str:
    if len(names) != 1:
        raise TemplateError(f"expected exactly one {kind} in the template, found {sorted(names)}")
    return names[0]


def _layout(template: Mapping[str, Any]) -> _Layout:
    queues = _resources_of_type(template, QUEUE_TYPE)
    redriven = {
        logical_id: target
        for logical_id, body in queues.items()
        if (target := _dead_letter_target(logical_id, _properties(body))) is not None
    }
    queue_id = _only("queue with a RedrivePolicy", list(redriven))
    dead_letter_queue_id = redriven[queue_id]
    if dead_letter_queue_id not in queues:
        raise TemplateError(f"{queue_id}: dead-letter target {dead_letter_queue_id!r} is not an {QUEUE_TYPE}")
    unexpected = sorted(set(queues) - {queue_id, dead_letter_queue_id} - _failure_record_queues(template))
    if unexpected:
        raise TemplateError(f"the local stack knows one queue and its DLQ; also found {unexpected}")
    return _Layout(
        queue_id=queue_id,
        dead_letter_queue_id=dead_letter_queue_id,
        table_id=_only(TABLE_TYPE, list(_resources_of_type(template, TABLE_TYPE))),
        secret_id=_only(SECRET_TYPE, list(_resources_of_type(template, SECRET_TYPE))),
    )


def secret_placeholder_keys(template: Mapping[str, Any]) -> frozenset[str]:
    """Keys of the JSON object that the template's secret holds (its values are placeholders)."""
    layout = _layout(template)
    properties = _properties(template["Resources"][layout.secret_id])
    secret_string = properties.get("SecretString")
    if not isinstance(secret_string, str):
        raise TemplateError(f"{layout.secret_id}: SecretString must be a literal JSON string")
    try:
        placeholder = json.loads(secret_string)
    except json.JSONDecodeError as exc:
        raise TemplateError(f"{layout.secret_id}: SecretString is not JSON: {exc}") from exc
    if not isinstance(placeholder, dict):
        raise TemplateError(f"{layout.secret_id}: SecretString must be a JSON object")
    return frozenset(placeholder)


def _check_secret_value(template: Mapping[str, Any], secret_value: Mapping[str, Any]) -> None:
    expected = secret_placeholder_keys(template)
    missing = sorted(expected - set(secret_value))
    extra = sorted(set(secret_value) - expected)
    if missing or extra:
        problems = []
        if missing:
            problems.append(f"missing keys {missing}")
        if extra:
            problems.append(f"unexpected keys {extra}")
        raise ValueError(f"secret_value does not match the template's secret: {'; '.join(problems)}")


# ----------------------------------------------------------------------------------------------------
# Creating the resources


@dataclass(frozen=True)
class LocalResources:
    queue_url: str
    dead_letter_queue_url: str
    table_name: str
    secret_id: str


_QUEUE_ATTRIBUTES: Final[tuple[QueueAttributeNameType, ...]] = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)
_QUEUE_PROPERTIES: Final = frozenset({*_QUEUE_ATTRIBUTES, "QueueName", "RedrivePolicy", "Tags"})
_TABLE_PROPERTIES: Final = frozenset(
    {
        "AttributeDefinitions",
        "BillingMode",
        "GlobalSecondaryIndexes",
        "KeySchema",
        "PointInTimeRecoverySpecification",
        "SSESpecification",
        "TableName",
        "Tags",
        "TimeToLiveSpecification",
    }
)
_SECRET_PROPERTIES: Final = frozenset({"Description", "Name", "SecretString", "Tags"})


class _Builder:
    def __init__(self, template: Mapping[str, Any], stack_name: str, region: str) -> None:
        self._template = template
        self._stack_name = stack_name
        self._region = region
        self._parameters = _parameter_values(template, None)
        self.refs: dict[str, str] = {}
        self.attributes: dict[tuple[str, str], str] = {}

    def properties(self, logical_id: str) -> dict[str, Any]:
        raw = _properties(self._template["Resources"][logical_id])
        context = _Context(
            pseudo_parameters=_pseudo_parameters(self._stack_name, self._region),
            parameters=self._parameters,
            refs=self.refs,
            attributes=self.attributes,
            where=logical_id,
        )
        resolved = _resolve(raw, context)
        assert isinstance(resolved, dict)  # noqa: S101 - _resolve keeps a mapping a mapping
        return resolved

    def physical_name(self, logical_id: str, explicit: object) -> str:
        if explicit is None:
            return f"{self._stack_name}-{logical_id}"
        return _as_text(explicit)


def _create_queue(sqs: SQSClient, builder: _Builder, logical_id: str) -> str:
    properties = builder.properties(logical_id)
    _check_known(logical_id, properties, _QUEUE_PROPERTIES)
    attributes: dict[QueueAttributeNameType, str] = {
        name: _as_text(properties[name]) for name in _QUEUE_ATTRIBUTES if name in properties
    }
    redrive = properties.get("RedrivePolicy")
    if redrive is not None:
        attributes["RedrivePolicy"] = json.dumps(
            {
                "deadLetterTargetArn": redrive["deadLetterTargetArn"],
                "maxReceiveCount": int(redrive["maxReceiveCount"]),
            }
        )
    name = builder.physical_name(logical_id, properties.get("QueueName"))
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    builder.refs[logical_id] = url
    builder.attributes[(logical_id, "Arn")] = arn
    builder.attributes[(logical_id, "QueueName")] = name
    builder.attributes[(logical_id, "QueueUrl")] = url
    return url


def _create_table(dynamodb: DynamoDBClient, builder: _Builder, logical_id: str) -> str:
    properties = builder.properties(logical_id)
    _check_known(logical_id, properties, _TABLE_PROPERTIES)
    billing_mode = properties.get("BillingMode", "PROVISIONED")
    if billing_mode != "PAY_PER_REQUEST":
        raise TemplateError(f"{logical_id}: the local stack supports BillingMode PAY_PER_REQUEST only")
    name = builder.physical_name(logical_id, properties.get("TableName"))
    sse = properties.get("SSESpecification", {})
    dynamodb.create_table(
        TableName=name,
        KeySchema=properties["KeySchema"],
        AttributeDefinitions=properties["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": bool(sse.get("SSEEnabled", False))},
        **({"GlobalSecondaryIndexes": indexes} if (indexes := properties.get("GlobalSecondaryIndexes")) else {}),
    )
    pitr = properties.get("PointInTimeRecoverySpecification", {})
    if pitr.get("PointInTimeRecoveryEnabled"):
        dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    ttl = properties.get("TimeToLiveSpecification")
    if ttl is not None and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )
    description = dynamodb.describe_table(TableName=name)["Table"]
    builder.refs[logical_id] = name
    builder.attributes[(logical_id, "Arn")] = description["TableArn"]
    return name


def _create_secret(
    secretsmanager: SecretsManagerClient, builder: _Builder, logical_id: str, secret_value: Mapping[str, Any]
) -> str:
    properties = builder.properties(logical_id)
    _check_known(logical_id, properties, _SECRET_PROPERTIES)
    name = builder.physical_name(logical_id, properties.get("Name"))
    arn = secretsmanager.create_secret(
        Name=name,
        Description=_as_text(properties.get("Description", "")),
        SecretString=json.dumps(secret_value, ensure_ascii=False),
    )["ARN"]
    # Ref to a secret is its ARN in CloudFormation; GetSecretValue accepts it as SecretId.
    builder.refs[logical_id] = arn
    builder.attributes[(logical_id, "Id")] = arn
    return arn


def create_resources(
    *,
    sqs: SQSClient,
    dynamodb: DynamoDBClient,
    secretsmanager: SecretsManagerClient,
    template: dict[str, Any],
    stack_name: str,
    secret_value: dict[str, Any],
) -> LocalResources:
    """Create the template's queue (with redrive to its DLQ), ledger table and secret.

    Nothing is created when the template or ``secret_value`` does not fit.
    """
    layout = _layout(template)
    _check_secret_value(template, secret_value)
    builder = _Builder(template, stack_name, sqs.meta.region_name)
    dead_letter_queue_url = _create_queue(sqs, builder, layout.dead_letter_queue_id)
    queue_url = _create_queue(sqs, builder, layout.queue_id)
    table_name = _create_table(dynamodb, builder, layout.table_id)
    secret_id = _create_secret(secretsmanager, builder, layout.secret_id, secret_value)
    return LocalResources(
        queue_url=queue_url,
        dead_letter_queue_url=dead_letter_queue_url,
        table_name=table_name,
        secret_id=secret_id,
    )


# ----------------------------------------------------------------------------------------------------
# The environment a function gets


def function_environment(
    template: dict[str, Any],
    logical_id: str,
    resources: LocalResources,
    parameters: dict[str, str] | None = None,
) -> dict[str, str]:
    """Globals + the function's own environment variables, with Refs resolved to the local resources.

    ``parameters`` overrides template parameter defaults (checked against AllowedValues/AllowedPattern).
    """
    function = template["Resources"].get(logical_id)
    if function is None or function.get("Type") != FUNCTION_TYPE:
        raise TemplateError(f"{logical_id!r} is not an {FUNCTION_TYPE} in the template")
    layout = _layout(template)
    global_function = (template.get("Globals") or {}).get("Function") or {}
    variables: dict[str, Any] = {
        **((global_function.get("Environment") or {}).get("Variables") or {}),
        **((_properties(function).get("Environment") or {}).get("Variables") or {}),
    }
    context = _Context(
        # The deployed variables use no pseudo parameter; a Ref to one fails clearly instead of being guessed.
        pseudo_parameters={},
        parameters=_parameter_values(template, parameters),
        refs={
            layout.queue_id: resources.queue_url,
            layout.dead_letter_queue_id: resources.dead_letter_queue_url,
            layout.table_id: resources.table_name,
            layout.secret_id: resources.secret_id,
        },
        attributes={},
        where=f"{logical_id}.Environment",
    )
    environment: dict[str, str] = {}
    for name, value in variables.items():
        resolved = _resolve(value, context)
        if resolved is _NO_VALUE:
            continue
        environment[name] = _as_text(resolved)
    return environment

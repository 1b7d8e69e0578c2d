"""What the template tests share: the template, its offline SAM translation, and small readers."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform

from local.aws.template_resources import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
RUNBOOK_PATH = ROOT / "docs" / "RUNBOOK.md"
REGION = "eu-central-1"


class NoLookupPolicyLoader(ManagedPolicyLoader):  # type: ignore[misc]  # samtranslator ships no types
    """Managed policies are referenced by ARN, so translation needs no IAM lookup."""

    def __init__(self) -> None:
        pass

    def load(self) -> dict[str, str]:
        return {}


def the_template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


def translate(template: dict[str, Any], parameter_values: dict[str, Any] | None = None) -> dict[str, Any]:
    """The template as CloudFormation sees it after the SAM transform, produced offline (as `sam package` would
    see it: local folders become S3 objects)."""
    fragment = copy.deepcopy(template)
    for resource in fragment["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://artifact-bucket/{properties[key].strip('/')}.zip"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        patch.delenv("AWS_PROFILE", raising=False)
        result: dict[str, Any] = transform(fragment, parameter_values or {}, NoLookupPolicyLoader())
    return result


def resources_of(document: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in document["Resources"].items() if body["Type"] == resource_type}

"""Calling the Bitrix24 sandbox over HTTP from its tests."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import requests

from local.bitrix24.limits import TimeProfile
from local.bitrix24.lists import ListOrder
from local.bitrix24.sandbox import Bitrix24Sandbox

TIMEOUT = 5
# Most tests pin the sandbox's mechanics on its idealised time block and list order; the real-portal behaviour
# of both (the default) is tested in test_strictness.py.
IDEAL: dict[str, Any] = {"time_profile": TimeProfile.IDEAL, "list_order": ListOrder.IDEAL}


def call(portal: Bitrix24Sandbox, method: str, params: dict[str, Any] | None = None) -> requests.Response:
    return requests.post(portal.webhook_url + method, json=params or {}, timeout=TIMEOUT)


def exact(response: requests.Response) -> Any:
    """The body with JSON numbers as Decimal, so figures compare exactly."""
    return json.loads(response.text, parse_float=Decimal)

"""Bitrix24 → 1C:Accounting 3.0 invoice bridge: all logic shared by the Lambda functions."""

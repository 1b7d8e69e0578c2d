"""Bitrix24 REST: the client and the snapshots the processor reads."""

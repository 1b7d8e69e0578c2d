"""``crm.timeline.comment.add``: a comment in a deal's or a new invoice's timeline (the bridge's write-back)."""

from __future__ import annotations

from typing import Any

from local.bitrix24.protocol import MethodResult, RestError, not_found
from local.bitrix24.store import Method, PortalStore, TimelineComment
from local.bitrix24.values import as_int, fields_param

SMART_INVOICE_TIMELINE_TYPES = frozenset({"smart_invoice", "dynamic_31"})


def timeline_comment_add(store: PortalStore, params: dict[str, Any]) -> MethodResult:
    fields = fields_param(params)  # lower-case only, since crm 23.100.0
    entity_id = as_int(fields.get("ENTITY_ID"))
    entity_type = fields.get("ENTITY_TYPE")
    comment = fields.get("COMMENT")
    if entity_id is None or entity_id <= 0:
        raise RestError(400, "", "ENTITY_ID is not defined or invalid.")
    if not isinstance(entity_type, str) or not entity_type.strip():
        raise RestError(400, "", "ENTITY_TYPE is not defined or invalid.")
    if not isinstance(comment, str) or not comment.strip():
        raise RestError(400, "", "COMMENT is not defined or empty.")
    kind = entity_type.strip().lower()
    if kind == "deal" and entity_id not in store.deals:
        raise not_found()
    if kind in SMART_INVOICE_TIMELINE_TYPES and entity_id not in store.invoices:
        raise not_found()
    comment_id = store.next_comment_id
    store.next_comment_id += 1
    store.comments.append(TimelineComment(comment_id, entity_type, entity_id, comment))
    return MethodResult(comment_id)


METHODS: dict[str, Method] = {"crm.timeline.comment.add": timeline_comment_add}

"""English texts (the `Language=en` option). Field codes in parentheses are the Bitrix24 REST names."""

from __future__ import annotations

from invoice_bridge.messages.keys import Msg

CATALOG: dict[Msg, str] = {
    Msg.ENTITY: "the {entity}",
    Msg.ROW: "row {number}",
    Msg.ROW_NAMED: "row {number} «{name:raw}»",
    Msg.PRODUCT: "product {product}",
    Msg.PRODUCT_ROWS: "product rows",
    Msg.REQUISITE: "requisite «{name:raw}» ({source})",
    Msg.REQUISITE_SELECTED: "the requisite selected in the {entity}",
    Msg.COMPANY_FIRST_REQUISITE: "the first requisite of company {company}",
    Msg.CONTACT_FIRST_REQUISITE: "the first requisite of contact {contact}",
    Msg.NO_BUYER_SOURCE: "nowhere",
    Msg.SELLER_REQUISITE: "the seller's requisite «{name:raw}» (your company chosen in the {entity})",
    Msg.SELLER_REQUISITE_ID: "the seller's requisite {requisite} (the «my company» requisite chosen in the deal)",
    Msg.FIELD_AMOUNT: "amount",
    Msg.FIELD_TAX_AMOUNT: "tax amount",
    Msg.FIELD_PRICE: "price",
    Msg.FIELD_QUANTITY: "quantity",
    Msg.FIELD_PRICE_EXCLUSIVE: "price without VAT",
    Msg.FIELD_DISCOUNT: "discount",
    Msg.FIELD_VAT_RATE: "VAT rate",
    Msg.FIELD_INN: "INN",
    Msg.FIELD_KPP: "KPP",
    Msg.FIELD_COMPANY_NAME: "short name",
    Msg.FIELD_PRODUCT_NAME: "product",
    Msg.FIELD_STAGE: "stage",
    Msg.FIELD_TITLE: "title",
    Msg.FIELD_LABEL: "{title} ({code:raw})",
    Msg.NUMBER_EMPTY: "is empty",
    Msg.NUMBER_MISSING: "is missing",
    Msg.NUMBER_NOT_A_NUMBER: "is not a number",
    Msg.NUMBER_COMMA: "is not a number (a comma where a dot should be?)",
    Msg.NUMBER_NOT_FINITE: "is not a finite number",
    Msg.NUMBER_TOO_PRECISE: "has more than {digits} significant digits",
    Msg.NUMBER_TOO_LARGE: "is too large (more than {digits} digits before the decimal point)",
    Msg.NUMBER_TOO_MANY_DECIMALS: "has more than {decimals} decimals",
    Msg.NUMBER_NOT_PERCENT: "is not between 0 and 100",
    Msg.INN_EMPTY: "is empty; enter the buyer's INN (10 digits for a company, 12 for an individual entrepreneur)",
    Msg.INN_NOT_DIGITS: "{inn:raw} contains characters other than digits 0-9",
    Msg.INN_LENGTH: "{inn:raw} has {digits} digits; must be 10 (company) or 12 (individual entrepreneur)",
    Msg.INN_STARTS_00: "{inn:raw} starts with 00, which no tax office code does",
    Msg.INN_CHECKSUM: (
        "{inn:raw} has a wrong check digit; it was probably mistyped — compare it with the company's documents"
    ),
    Msg.INN_INVALID: "{inn:raw} is not a valid INN",
    Msg.KPP_EMPTY: "is empty; a company (10-digit INN) needs its 9-character KPP",
    Msg.KPP_FORMAT: (
        "{kpp:raw} is not a KPP: expected 9 characters, 4 digits, 2 digits or capital Latin letters, 3 digits"
    ),
    Msg.VAT_UNKNOWN_RATE: "VAT rate {percent} % is not a Russian VAT rate (22, 10, 7, 5, 0 % or without VAT)",
    Msg.VAT_20_EXPIRED: "VAT rate 20 % is not valid on {date}: the general rate is 22 % from 01.01.2026",
    Msg.VAT_NOT_VALID: "VAT rate {percent} % is not valid on {date}",
    Msg.BAD_FIGURE: "{place}: {title} ({field}) «{value:raw}» {reason}",
    Msg.RECORD_NOT_A_RECORD: "{place}: Bitrix24 sent {value:raw} instead of a record",
    Msg.FIELD_MISSING: "{place}: field {field} is missing",
    Msg.FIELD_INVALID: "{place}: field {field} has the value «{value:raw}», which is not valid here",
    Msg.ROWS_NOT_A_LIST: "product rows: Bitrix24 sent {value:raw} instead of a list",
    Msg.STAGE_UNREADABLE: "Bitrix24 sent the {entity}'s stage in a shape the bridge cannot read ({detail})",
    Msg.SELLER_REQUISITE_NOT_FOUND: (
        "{place} is not found in Bitrix24; choose your company's requisite in the deal again"
    ),
    Msg.CURRENCY_NOT_CONFIGURED: (
        "{entity} currency {currency:raw} is not configured; the bridge invoices in {supported:raw}"
    ),
    Msg.NO_ROWS: "the {entity} has no product rows; add the products being sold",
    Msg.ROWS_SUM_MISMATCH: (
        "the rows add up to {rows_total} but the {entity} amount is {amount}; open the {entity}'s products and "
        "save them again so the amount is recalculated"
    ),
    Msg.ROWS_VAT_MISMATCH: (
        "the rows' VAT adds up to {rows_vat} but the {entity}'s tax amount is {tax}; open the {entity}'s products "
        "and save them again so the tax is recalculated, or check the portal's tax settings (location-based taxes "
        "are not supported)"
    ),
    Msg.ROWS_MIXED_VAT_MODES: (
        "{rows}: 1C would change the amount, because the {entity} mixes rows with VAT included and rows with VAT "
        "on top, and at this quantity no price in kopecks gives the row's amount; make all rows either include VAT "
        "or add it on top"
    ),
    Msg.NO_BUYER: (
        "the {entity} has no buyer with requisites: choose a company in the {entity} and fill in its requisites "
        "(INN, KPP)"
    ),
    Msg.INN_HAS_SEPARATORS: "INN «{raw:raw}» in {place} contains spaces or dashes; write it as {inn:raw}",
    Msg.INN_PROBLEM: "INN in {place} {problem}",
    Msg.KPP_PROBLEM: "KPP in {place} {problem}",
    Msg.SELLER_NO_INN: "{place} has no INN; fill in your company's INN there or choose another requisite",
    Msg.ROW_NO_CODE: "{place}: product {product} has no external code (xmlId) to find it in 1C",
    Msg.ROW_NO_NAME: "row {number} has neither a catalog product nor a name; describe the service",
    Msg.ROW_TAX_INCLUDED: "{place}: «tax included» (TAX_INCLUDED) «{value:raw}» is neither Y nor N",
    Msg.ROW_QUANTITY_NOT_POSITIVE: "{place} has quantity {quantity}; it must be above zero",
    Msg.ROW_NEGATIVE_PRICE: "{place} has a negative price {price}",
    Msg.ROW_VAT: "{place}: {problem}",
    Msg.ROW_ITEM_NOT_IN_1C: "{place}: {problem}",
    Msg.NO_COUNTERPARTY: (
        "no counterparty with INN {inn:raw} in 1C; create it in Справочники → Контрагенты "
        "(or let the bridge create counterparties: OnecCreateCounterparties=true)"
    ),
    Msg.NO_COUNTERPARTY_KPP: (
        "no counterparty with INN {inn:raw} and KPP {kpp:raw} in 1C; create it in Справочники → Контрагенты "
        "(or let the bridge create counterparties: OnecCreateCounterparties=true)"
    ),
    Msg.NO_ITEM: (
        "no 1C item with external code «{code:raw}»: load the catalog from 1C or set the product's external code "
        "(XML_ID) to the item's 1C code"
    ),
    Msg.ONEC_REFUSED: "1C refused the invoice: {detail:raw}",
    Msg.COMMENT_CREATED: (
        "Draft [B]{document} {number:raw} of {date}[/B] is in 1C for review: the accountant will check and post it.\n"
        "[LIST]\n[*]Buyer: {buyer:raw}\n[*]Total: [B]{total}[/B]\n[*]{vat}\n[/LIST]{link}"
    ),
    Msg.COMMENT_UPDATED: (
        "The {entity} changed: draft [B]{document} {number:raw} of {date}[/B] in 1C was updated.\n"
        "[LIST]\n[*]Buyer: {buyer:raw}\n[*]Total: [B]{total}[/B]\n[*]{vat}\n[/LIST]{link}"
    ),
    Msg.COMMENT_CHANGED_AFTER_POSTING: (
        "The {entity} changed after [B]{document} {number:raw} of {date}[/B] was posted in 1C; the "
        "bridge did not change it.\n[LIST]\n[*]The {entity} now comes to [B]{total}[/B]\n[*]{vat}\n[/LIST]\n"
        "Ask the accountant to correct the document.{link}"
    ),
    Msg.COMMENT_SETUP: (
        "[B]The bridge cannot reach 1C to create the invoice for this {entity}[/B]: 1C needs its administrator, "
        "who has been alerted. The invoice will be created by itself once that is fixed; there is nothing to "
        "change in the {entity}."
    ),
    Msg.COMMENT_WITHDRAWN_DELETION_MARK: (
        "The {entity} left the invoicing stage (now {stage:raw}). 1C document [B]{document} "
        "{number:raw}[/B] was marked for deletion. If it was posted already, ask the accountant to reverse it.{link}"
    ),
    Msg.COMMENT_WITHDRAWN_MARKED: (
        "The {entity} left the invoicing stage (now {stage:raw}). 1C document [B]{document} "
        "{number:raw}[/B] was marked as withdrawn. If it was posted already, ask the accountant to reverse it.{link}"
    ),
    Msg.COMMENT_REJECTED: (
        "[B]The 1C invoice draft was not created.[/B] Fix this and save the {entity} again:\n{problems:list}"
    ),
    Msg.DOC_BUYER_INVOICE: "buyer invoice",
    Msg.DOC_SALE: "sale (act, waybill, UPD)",
    Msg.VAT_SUMMARY: "VAT: {total} ({lines})",
    Msg.VAT_LINE: "{rate} — {amount}",
    Msg.VAT_NONE: "without VAT",
    Msg.COMMENT_LINK: "\n[URL={url:raw}]Open in 1C[/URL]",
    Msg.PREFLIGHT_VAT_RATE_MISSING: (
        "row {number}: 1C has no rate «{rate}»: this 1C:Accounting release predates it; tell the 1C administrator"
    ),
    Msg.COMMENT_CREATED_POSTED: (
        "[B]{document} {number:raw} of {date}[/B] was created and posted in 1C.\n"
        "[LIST]\n[*]Buyer: {buyer:raw}\n[*]Total: [B]{total}[/B]\n[*]{vat}\n[/LIST]{link}"
    ),
    Msg.PREFLIGHT_READY: (
        "[B]Pre-flight check passed[/B]: the {entity} is ready for invoicing.\n[LIST]\n[*]Buyer: {buyer:raw}\n"
        "[*]Total: [B]{total}[/B]\n[*]{vat}\n[/LIST]\nMove the {entity} to the invoicing stage and the 1C draft is "
        "created by itself."
    ),
    Msg.PREFLIGHT_PROBLEMS: (
        "[B]Pre-flight check: fix {count:p(problem|problems)}[/B]\n{problems:list}\n"
        "Save the {entity} again to check it again."
    ),
    # --- the status sync: the document's life in 1C ---
    Msg.STATUS_COMMENT: "{events:lines}",
    Msg.STATUS_DOCUMENT: "{document} {number:raw} of {date}",
    Msg.STATUS_DOCUMENT_UNDATED: "{document} {number:raw}",
    Msg.STATUS_PAYMENT: "payment {number:raw} of {date} for {amount}",
    Msg.STATUS_PAYMENT_UNNUMBERED: "payment of {date} for {amount}",
    Msg.STATUS_PAYMENTS: " ({payments})",
    Msg.STATUS_POSTED: "[B]{document}[/B] for {total} was posted by the accountant in 1C.",
    Msg.STATUS_TAX_INVOICE: "Tax invoice {tax_invoice:raw} was issued for [B]{document}[/B].",
    Msg.STATUS_PAYMENT_CANCELLED: (
        "A payment for [B]{document}[/B] was cancelled in 1C ({amounts}); {paid} of {total} is paid."
    ),
    Msg.STATUS_PAID_IN_PART: "[B]{document}[/B] was paid in part: {paid} of {total}{payments}.",
    Msg.STATUS_PAID_IN_FULL: "[B]{document}[/B] was paid in full: {paid} of {total}{payments}.",
    Msg.STATUS_UNPOSTED: "[B]{document}[/B]: the accountant cancelled its posting in 1C.",
    Msg.STATUS_CANCELLED: "[B]{document}[/B] was cancelled in 1C (status «Отменен»).",
    Msg.STATUS_DELETED: "[B]{document}[/B] was marked for deletion in 1C.",
    Msg.STATUS_NOT_FOUND: "[B]{document}[/B] is no longer found in 1C.",
    Msg.ONEC_DOCUMENT_COMMENT: (
        "Draft from Bitrix24, pending review by the accountant. {entity:Nom} «{title:raw}» {url:raw}"
    ),
    Msg.ONEC_WITHDRAWN_NOTE: "WITHDRAWN: the {entity} left the invoicing stage (now {stage:raw}).",
    Msg.ONEC_COUNTERPARTY_COMMENT: "Created by the Bitrix24 → 1C bridge",
}

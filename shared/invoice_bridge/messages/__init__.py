"""The message catalog: every text a manager (Bitrix24) or an accountant (1C) reads, in Russian (default) or
English. Code builds `Text`s (a key and typed parameters); the words live in `ru.py`/`en.py` and are rendered at
the edge (`render`), so the ledger and logs keep the machine-readable key.

Why a typed catalog rather than gettext/Babel: the texts carry typed parameters (money, dates, the entity whose
noun declines and whose gender the verb follows, counts with plural forms, nested texts such as a field's place
and its problem) that a `%s` gettext template cannot express without code around every call; keys are an enum
mypy checks; nothing is compiled (.mo) into the Lambda package; and two languages fit in two reviewed files.
The tests make up for what gettext tooling would give: every key in both languages, the same fields in both,
no English in Russian output.

To add a text: a key in `keys.py`, its words in `ru.py` and `en.py` (the same `{fields}`), a sample of its
parameters in `tests/unit/test_messages.py::SAMPLES`; build it with `t(Msg.KEY, field=value)` and render it where
it leaves the bridge (`render(text, language)`). A problem a manager fixes is a `Text` too: the ledger stores its
`code` (the key and the English words), the comment renders it in the configured language.
"""

from invoice_bridge.messages.keys import Msg
from invoice_bridge.messages.text import (
    NBSP,
    Language,
    Money,
    Text,
    capitalised,
    format_date,
    format_decimal,
    format_money,
    noun,
    plural,
    render,
    t,
)

__all__ = [
    "NBSP",
    "Language",
    "Money",
    "Msg",
    "Text",
    "capitalised",
    "format_date",
    "format_decimal",
    "format_money",
    "noun",
    "plural",
    "render",
    "t",
]

"""The Bitrix24 timeline comments of a replay, as a manager would read them (BB-code shown as plain text)."""

from __future__ import annotations

import re

from local.seed import PORTAL_B_DOMAIN, PORTAL_DOMAIN
from local.stack import LocalStack

_URL = re.compile(r"\[URL=([^\]]*)\](.*?)\[/URL\]", re.DOTALL)
_TAG = re.compile(r"\[/?(?:B|LIST(?:=1)?)\]")


def plain(comment: str) -> str:
    """[B]…[/B] as text, list items as bullets (numbered in a [LIST=1]), links as «text <url>»."""
    text = _URL.sub(lambda m: f"{m.group(2)} <{m.group(1)}>", comment)
    lines: list[str] = []
    number = 0
    for line in text.splitlines():
        if line.startswith("[LIST=1]"):
            number = 1
        elif line.startswith("[LIST]"):
            number = 0
        bare = _TAG.sub("", line)
        if bare.startswith("[*]"):
            bullet = f"{number}." if number else "•"
            number = number + 1 if number else 0
            bare = f"  {bullet} {bare.removeprefix('[*]')}"
        if bare:
            lines.append(bare)
    return "\n".join(lines)


def render_comments(stack: LocalStack) -> str:
    blocks = []
    for domain, sandbox in ((PORTAL_DOMAIN, stack.bitrix), (PORTAL_B_DOMAIN, stack.bitrix_b)):
        for comment in sandbox.timeline_comments:
            title = f"{domain} {comment.entity_type} {comment.entity_id}"
            body = "\n".join(f"    {line}" for line in plain(comment.comment).splitlines())
            blocks.append(f"  {title}\n{body}")
    return "\n\n".join(blocks)

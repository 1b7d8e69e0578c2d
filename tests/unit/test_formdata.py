import contextlib
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoice_bridge.formdata import FormDecodeError, parse_php_form

SAMPLE = (
    "event=ONCRMDEALADD&event_handler_id=975&data%5BFIELDS%5D%5BID%5D=7405&ts=1766047124"
    "&auth%5Bdomain%5D=some-domain.bitrix24.com&auth%5Bmember_id%5D=d897063e1ce7c5eb9f04b9751eef5915"
    "&auth%5Bapplication_token%5D=jvh9y1ulvt2m6k5or90v9mg8nn32ozas"
)


def test_bracket_keys_become_nested_dicts() -> None:
    form = parse_php_form(SAMPLE)
    assert form["event"] == "ONCRMDEALADD"
    assert form["data"] == {"FIELDS": {"ID": "7405"}}
    assert form["auth"]["application_token"] == "jvh9y1ulvt2m6k5or90v9mg8nn32ozas"


def test_empty_brackets_build_lists() -> None:
    assert parse_php_form("a[]=1&a[]=2&b[x][]=3") == {"a": ["1", "2"], "b": {"x": ["3"]}}


def test_blank_values_are_kept() -> None:
    assert parse_php_form("auth[application_token]=&event=X") == {"auth": {"application_token": ""}, "event": "X"}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("a[b=1", "malformed key"),
        ("a=1&a[b]=2", "conflicts"),
        ("a[b]=1&a=2", "overwrites"),
        ("a[x][y][z][u][v][w]=1", "deeper"),
        ("a[]=1&a[x]=2", "conflicts"),
        ("%ff%fe=1", "UTF-8"),
        ("&".join(f"k{i}=v" for i in range(300)), "more than"),
    ],
)
def test_malformed_bodies_raise_our_error(body: str, fragment: str) -> None:
    with pytest.raises(FormDecodeError, match=fragment):
        parse_php_form(body)


_names = st.text(alphabet=st.characters(exclude_characters="[]&=", exclude_categories=["Cs"]), min_size=1, max_size=8)
_trees = st.recursive(
    st.text(max_size=12),
    lambda children: st.dictionaries(_names, children, min_size=1, max_size=4),
    max_leaves=12,
)


def _flatten(prefix: str, value: object) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [pair for key, inner in value.items() for pair in _flatten(f"{prefix}[{key}]", inner)]
    assert isinstance(value, str)
    return [(prefix, value)]


@given(st.dictionaries(_names, _trees, min_size=1, max_size=4))
def test_round_trip_of_nested_keys(tree: dict[str, object]) -> None:
    body = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in _top_level(tree))
    assert parse_php_form(body) == tree


def _top_level(tree: dict[str, object]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, value in tree.items():
        if isinstance(value, dict):
            out.extend(_flatten(key, value))
        else:
            assert isinstance(value, str)
            out.append((key, value))
    return out


@given(st.text(max_size=300))
def test_garbage_raises_nothing_but_our_error(body: str) -> None:
    with contextlib.suppress(FormDecodeError):
        parse_php_form(body)

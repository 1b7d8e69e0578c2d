"""PHP bracket parameters both ways."""

from __future__ import annotations

from local.bitrix24.wire import build_query, nest_pairs, parse_query


def test_bracket_keys_become_nested_params() -> None:
    assert parse_query("filter[ENTITY_ID]=11&filter[%3EID]=3&select[]=ID&select[]=NAME&order[ID]=ASC&id=5") == {
        "filter": {"ENTITY_ID": "11", ">ID": "3"},
        "select": ["ID", "NAME"],
        "order": {"ID": "ASC"},
        "id": "5",
    }
    assert nest_pairs([("a[0][b]", "1"), ("a[1][b]", "2"), ("plain[", "x")]) == {
        "a": [{"b": "1"}, {"b": "2"}],
        "plain[": "x",
    }
    assert parse_query(build_query({"fields": {"COMMENT": "a&b=c"}, "ids": [1, 2]})) == {
        "fields": {"COMMENT": "a&b=c"},
        "ids": ["1", "2"],
    }

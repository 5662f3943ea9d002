"""The shared condition language: every construct's JSON node, refusals."""

from __future__ import annotations

import re

import pytest

from ml.core import conditions
from ml.core.predictions import ELIGIBILITY, TARGET


def node(text: str, language: conditions.Language = TARGET) -> dict:
    return conditions.to_json(conditions.parse(text, language))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "page_name = 'subscriptionForm'",
            {"op": "=", "field": "page_name", "value": "subscriptionForm"},
        ),
        ("order_total > 50", {"op": ">", "field": "order_total", "value": 50}),
        ("order_total >= 49.5", {"op": ">=", "field": "order_total", "value": 49.5}),
        ("order_total < 1e3", {"op": "<", "field": "order_total", "value": 1000}),
        ("order_total <= -2", {"op": "<=", "field": "order_total", "value": -2}),
        ("sku != 'A'", {"op": "<>", "field": "sku", "value": "A"}),
        ("sku <> 'A'", {"op": "<>", "field": "sku", "value": "A"}),
        ("sku == 'A'", {"op": "=", "field": "sku", "value": "A"}),
        (
            "sku in ('A', 'B')",
            {"op": "in", "field": "sku", "values": ["A", "B"]},
        ),
        (
            "ad_id NOT IN ('x')",
            {"op": "not in", "field": "ad_id", "values": ["x"]},
        ),
        (
            "order_total between 10 and 20.25",
            {"op": "between", "field": "order_total", "low": 10, "high": 20.25},
        ),
        ("link_name is null", {"op": "is null", "field": "link_name"}),
        ("link_name is not null", {"op": "is not null", "field": "link_name"}),
        (
            "not page_name = 'a'",
            {"op": "not", "arg": {"op": "=", "field": "page_name", "value": "a"}},
        ),
        (
            "sku = 'a' or sku = 'b' and order_total > 1",
            {
                "op": "or",
                "args": [
                    {"op": "=", "field": "sku", "value": "a"},
                    {
                        "op": "and",
                        "args": [
                            {"op": "=", "field": "sku", "value": "b"},
                            {"op": ">", "field": "order_total", "value": 1},
                        ],
                    },
                ],
            },
        ),
        (
            "(sku = 'a' or sku = 'b') and order_total > 1",
            {
                "op": "and",
                "args": [
                    {
                        "op": "or",
                        "args": [
                            {"op": "=", "field": "sku", "value": "a"},
                            {"op": "=", "field": "sku", "value": "b"},
                        ],
                    },
                    {"op": ">", "field": "order_total", "value": 1},
                ],
            },
        ),
    ],
)
def test_every_construct_of_a_target_compiles_to_its_node(text, expected):
    assert node(text) == expected


def test_eligibility_conditions_have_flags_and_boolean_values():
    assert node("has_email_consent", ELIGIBILITY) == {
        "op": "flag",
        "field": "has_email_consent",
    }
    assert node(
        "has_sms_consent = false and days_since_last_event <= 90", ELIGIBILITY
    ) == {
        "op": "and",
        "args": [
            {"op": "=", "field": "has_sms_consent", "value": False},
            {"op": "<=", "field": "days_since_last_event", "value": 90},
        ],
    }


@pytest.mark.parametrize(
    ("text", "language", "message", "position"),
    [
        ("", TARGET, "the condition is empty", 1),
        ("revenue > 3", TARGET, "unknown field 'revenue' (fields: ad_id,", 1),
        ("order_total > 'x'", TARGET, "order_total is number, not text", 15),
        ("page_name = 3", TARGET, "page_name is text, not number", 13),
        ("page_name > 'a'", TARGET, "page_name is text: use = or <>", 11),
        ("page_name = x", TARGET, "expected a value, found 'x'", 13),
        ("page_name", TARGET, "page_name is text: compare it", 1),
        ("page_name = 'x'; drop table raw.batches", TARGET, "character ';'", 16),
        ("page_name = 'x' -- y", TARGET, "unexpected character '-'", 17),
        ("page_name = 'O''Brien'", TARGET, 'cannot hold "\'"', 13),
        ("sku in ('a', 'b\\c')", TARGET, "cannot hold '\\\\'", 14),
        ("page_name = 'x", TARGET, "unterminated text value", 13),
        ("(sku = 'a'", TARGET, "expected ')', found the end of the condition", 11),
        ("sku = 'a' and", TARGET, "expected a field, found the end", 14),
        ("top_percent(10)", TARGET, "unknown field 'top_percent'", 1),
        ("days_since_last_event < 'x'", ELIGIBILITY, "is number, not text", 25),
        ("has_email_consent = 1", ELIGIBILITY, "is boolean, not number", 21),
        ("page_name = 'a'", ELIGIBILITY, "unknown field 'page_name'", 1),
        ("country_code between 'a' and 'b'", ELIGIBILITY, "between needs", 14),
    ],
)
def test_bad_conditions_are_refused_with_the_position(
    text, language, message, position
):
    with pytest.raises(conditions.RuleError, match=re.escape(message)) as caught:
        conditions.parse(text, language)
    assert caught.value.position + 1 == position
    assert f"at position {position}:" in str(caught.value)
    assert "^" in str(caught.value)


def test_the_audience_language_keeps_quotes_in_its_values():
    """Quotes are refused only where a language says so (the dbt renderers)."""
    from ml.activation import rules

    _, params = rules.compile_rule("country = 'O''Brien'")
    assert params == ["O'Brien"]


def test_nesting_and_length_are_bounded():
    with pytest.raises(conditions.RuleError, match="nests deeper"):
        conditions.parse("(" * 40 + "sku = 'a'" + ")" * 40, TARGET)
    with pytest.raises(conditions.RuleError, match="condition is longer than"):
        conditions.parse("sku = 'a' or " * 200 + "sku = 'a'", TARGET)


def test_whole_numbers_compile_to_integers():
    """The dbt macros render numbers as written: 50, not 50.0."""
    assert type(node("order_total > 50")["value"]) is int
    assert type(node("order_total > 50.5")["value"]) is float

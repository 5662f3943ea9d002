"""The audience rule language: parsing, type checks, safe SQL."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml.activation import rules


def sql_text(rule: str) -> tuple[str, list]:
    """The compiled condition as text (identifiers quoted), and its parameters."""
    condition, params = rules.compile_rule(rule)
    return condition.as_string(None), params


def test_the_examples_of_the_issue_compile_with_bound_values():
    text, params = sql_text("propensity >= 0.2 and propensity <= 0.93")
    assert text == '("propensity" >= %s and "propensity" <= %s)'
    assert params == [0.2, 0.93]

    text, params = sql_text(
        "decile >= 9 and country in ('US', 'CA') and not subscribed"
    )
    assert text == (
        '("decile" >= %s and "country_code" in (%s, %s) '
        'and (not coalesce(coalesce("has_converted", false), false)))'
    )
    assert params == [9.0, "US", "CA"]

    text, params = sql_text("top_percent(10)")
    assert text == '"percentile" > %s' and params == [90.0]


def test_precedence_parentheses_and_keywords_in_any_case():
    tree = rules.parse("decile > 8 OR decile < 2 AND email_consent")
    assert isinstance(tree, rules.BoolOp) and tree.op == "or"
    assert isinstance(tree.items[1], rules.BoolOp) and tree.items[1].op == "and"
    grouped = rules.parse("(decile > 8 or decile < 2) and email_consent")
    assert grouped.op == "and" and grouped.items[0].op == "or"
    text, params = sql_text(
        "propensity between 0.1 and 0.5 and country not in ('DE') "
        "and loyalty_tier is not null and sms_consent = true"
    )
    assert "between %s and %s" in text and "not in (%s)" in text
    assert '"loyalty_tier" is not null' in text
    assert params == [0.1, 0.5, "DE", True]


def test_quotes_inside_text_values_are_values():
    text, params = sql_text("country = 'O''Brien; drop table x; --'")
    assert text == '"country_code" = %s'
    assert params == ["O'Brien; drop table x; --"]


@pytest.mark.parametrize(
    ("rule", "message", "position"),
    [
        ("", "empty", 1),
        ("revenue > 3", "unknown field 'revenue'", 1),
        ("decile >= 'nine'", "decile is number, not text", 11),
        ("country = US", "expected a value, found 'US'", 11),
        ("country > 'US'", "country is text: use = or <>", 9),
        ("decile >= 9 and", "expected a field or a function, found the end", 16),
        ("decile >= 9 extra", "expected 'and', 'or' or the end", 13),
        ("propensity", "propensity is number: compare it", 1),
        ("top_percent(0)", "between 0 and 100", 13),
        ("top_percent('x')", "takes a number", 13),
        ("sum(propensity) > 1", "unknown field 'sum'", 1),
        ("decile >= 9; drop table profiles", "unexpected character ';'", 12),
        ("decile >= 9 -- comment", "unexpected character '-'", 13),
        ("decile >= 9 /* x */", "unexpected character '/'", 13),
        ("country = 'US", "unterminated text value", 11),
        ("(decile > 1", "expected ')'", 12),
        ("decile ≥ 9", "unexpected character '≥'", 8),
    ],
)
def test_bad_rules_are_refused_with_the_position(rule, message, position):
    with pytest.raises(rules.RuleError, match=re.escape(message)) as caught:
        rules.parse(rule)
    assert caught.value.position + 1 == position
    assert "^" in str(caught.value)


def test_deep_nesting_and_huge_rules_are_refused():
    with pytest.raises(rules.RuleError, match="nests deeper"):
        rules.parse("(" * 40 + "subscribed" + ")" * 40)
    with pytest.raises(rules.RuleError, match="longer than"):
        rules.parse("subscribed or " * 200 + "subscribed")


_hostile = st.text(
    alphabet=st.sampled_from(
        [*"'\";-/*()=<>!,.% \t\n\\$", "é", "☃", "\u202e", "\x00", "ß", "\uff10"]
    )
    | st.characters(),
    max_size=60,
)


_pieces = st.lists(
    st.sampled_from(
        ["decile", ">=", "9", "and", "or", "not", "(", ")", "'x'", "country", "in",
         ",", ";", "--", "'", "drop", "table", "subscribed", "=", "'US'", "1e3",
         "top_percent", "between", "is", "null", "true", "\"", "/*", "*/", "é"]
    ),
    max_size=12,
).map(" ".join)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(_hostile | _pieces)
def test_hostile_strings_are_refused_or_become_parameters(text):
    """Any input either fails to parse, or compiles to SQL whose only user
    text is in the parameters: the SQL itself holds nothing but quoted known
    columns, keywords, operators and placeholders."""
    for rule in (text, f"country = '{text.replace(chr(39), chr(39) * 2)}'"):
        try:
            condition, params = rules.compile_rule(rule)
        except rules.RuleError:
            continue
        sql = condition.as_string(None)
        stripped = sql
        for field in rules.FIELDS.values():
            stripped = stripped.replace(f'"{field.column}"', "")
        for word in ("coalesce", "false", "between", "and", "or", "not", "in", "is"):
            stripped = stripped.replace(word, "")
        stripped = stripped.replace("null", "").replace("%s", "")
        assert set(stripped) <= set(" (),=<>"), (rule, sql)
        assert all(isinstance(p, str | float | bool) for p in params)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_text_value_round_trips_as_one_parameter(value):
    rule = "country = '" + value.replace("'", "''") + "'"
    if len(rule) > rules.MAX_RULE_LENGTH:
        return
    _, params = rules.compile_rule(rule)
    assert params == [value]

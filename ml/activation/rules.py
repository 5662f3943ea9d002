"""The audience rule language: parsed into a syntax tree, compiled to safe SQL.

A rule is a small boolean expression over the enriched profile::

    propensity >= 0.2 and propensity <= 0.93
    decile >= 9 and country in ('US', 'CA') and not subscribed
    top_percent(10) and email_consent

Grammar (keywords case-insensitive)::

    rule       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | primary
    primary    := "(" or ")" | call | condition
    call       := "top_percent" "(" number ")" | "bottom_percent" "(" number ")"
    condition  := field [op value | ["not"] "in" "(" value ("," value)* ")"
                        | "between" value "and" value | "is" ["not"] "null"]
    value      := number | 'text' ('' escapes a quote) | true | false

Only the fields of :data:`FIELDS` exist; a field is compared with a value of
its own type; a boolean field stands alone as a condition. Anything else is
refused with the position of the error. The tokenizer, parser and syntax tree
are the shared condition language of :mod:`ml.core.conditions`; this module
adds the profile's fields, the two functions and the SQL. The compiled SQL
names columns with ``psycopg.sql.Identifier`` and passes every value as a
bound parameter: nothing a user writes is ever pasted into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ml.core import conditions
from ml.core.conditions import (
    MAX_DEPTH,
    MAX_RULE_LENGTH,
    OPERATORS,
    Between,
    BoolOp,
    Compare,
    Field,
    Flag,
    InList,
    IsNull,
    Language,
    Node,
    Not,
    Parser,
    RuleError,
    Token,
    tokenize,
)

if TYPE_CHECKING:
    from psycopg import sql as psql

__all__ = [
    "FIELDS",
    "FUNCTIONS",
    "LANGUAGE",
    "MAX_DEPTH",
    "MAX_RULE_LENGTH",
    "OPERATORS",
    "Between",
    "BoolOp",
    "Compare",
    "Field",
    "Flag",
    "InList",
    "IsNull",
    "Not",
    "Percent",
    "RuleError",
    "Token",
    "compile_rule",
    "parse",
    "to_sql",
    "tokenize",
]

FIELDS: dict[str, Field] = {
    field.name: field
    for field in (
        Field("propensity", "propensity", "number", "calibrated probability, 0-1"),
        Field("percentile", "percentile", "number", "rank in the scoring run, 0-100"),
        Field("decile", "decile", "number", "decile in the scoring run, 10 = top"),
        Field("model_version", "model_version", "number", "model that scored"),
        Field("count_events", "count_events", "number", "events of the profile"),
        Field("country", "country_code", "text", "country code, e.g. 'US'"),
        Field("channel", "preferred_channel", "text", "preferred channel"),
        Field("device", "device_type", "text", "main device"),
        Field("acquisition_source", "acquisition_source", "text", "how acquired"),
        Field("loyalty_tier", "loyalty_tier", "text", "loyalty tier"),
        Field("age_band", "age_band", "text", "age band"),
        Field("subscribed", "has_converted", "boolean", "has subscribed"),
        Field("has_score", "has_score", "boolean", "scored by the current run"),
        Field("email_consent", "has_email_consent", "boolean", "email consent"),
        Field("sms_consent", "has_sms_consent", "boolean", "SMS consent"),
        Field("push_consent", "has_push_consent", "boolean", "push consent"),
        Field(
            "personalize_consent",
            "has_personalize_consent",
            "boolean",
            "consent to personalisation",
        ),
    )
}
FUNCTIONS = ("top_percent", "bottom_percent")
LANGUAGE = Language(FIELDS, noun="rule", functions=FUNCTIONS)


@dataclass(frozen=True)
class Percent(Node):
    """``top_percent(n)`` or ``bottom_percent(n)`` of the scoring run."""

    function: str
    value: float


class _RuleParser(Parser):
    """The shared parser, with the audience functions."""

    def parse_call(self, name: Token) -> Node:
        self.expect("punct", "(", f"'(' after {name.text}")
        token = self.token
        value = self.parse_value()
        if not isinstance(value, float) or isinstance(value, bool):
            raise self.fail(f"{name.text} takes a number", token)
        if not 0 < value <= 100:
            raise self.fail(f"{name.text} takes a share between 0 and 100", token)
        self.expect("punct", ")", "')'")
        return Percent(name.text, value)


def parse(rule: str) -> Any:
    """The syntax tree of a rule.

    Raises:
        RuleError: The rule does not parse or uses a field wrongly.
    """
    return conditions.parse(rule, LANGUAGE, _RuleParser)


# -- SQL --------------------------------------------------------------------------

_JOINERS = {"and": " and ", "or": " or "}


def to_sql(node: Any) -> tuple[psql.Composable, list[Any]]:
    """Compile a syntax tree to a ``psycopg.sql`` condition and its parameters.

    Column names are identifiers from :data:`FIELDS`; values are ``%s``
    parameters, in order.
    """
    from psycopg import sql

    params: list[Any] = []

    def column(field: Field) -> Any:
        return sql.Identifier(field.column)

    def value(item: Any) -> Any:
        params.append(item)
        return sql.Placeholder()

    def visit(item: Any) -> Any:
        if isinstance(item, BoolOp):
            joiner = sql.SQL(_JOINERS[item.op])  # a keyword, never user text
            joined = joiner.join(visit(part) for part in item.items)
            return sql.SQL("({})").format(joined)
        if isinstance(item, Not):
            return sql.SQL("(not coalesce({}, false))").format(visit(item.item))
        if isinstance(item, Flag):
            return sql.SQL("coalesce({}, false)").format(column(item.field))
        if isinstance(item, Compare):
            return sql.SQL("{} {} {}").format(
                column(item.field),
                sql.SQL(item.op),
                value(item.value),  # OPERATORS
            )
        if isinstance(item, InList):
            listed = sql.SQL(", ").join(value(v) for v in item.values)
            keyword = sql.SQL("not in" if item.negated else "in")
            return sql.SQL("{} {} ({})").format(column(item.field), keyword, listed)
        if isinstance(item, Between):
            return sql.SQL("{} between {} and {}").format(
                column(item.field), value(item.low), value(item.high)
            )
        if isinstance(item, IsNull):
            keyword = sql.SQL("is not null" if item.negated else "is null")
            return sql.SQL("{} {}").format(column(item.field), keyword)
        if isinstance(item, Percent):
            percentile = sql.Identifier(FIELDS["percentile"].column)
            if item.function == "top_percent":
                return sql.SQL("{} > {}").format(percentile, value(100 - item.value))
            return sql.SQL("{} <= {}").format(percentile, value(item.value))
        raise TypeError(f"not a rule node: {item!r}")  # pragma: no cover

    return visit(node), params


def compile_rule(rule: str) -> tuple[psql.Composable, list[Any]]:
    """Parse and compile a rule: ``(condition, parameters)``."""
    return to_sql(parse(rule))

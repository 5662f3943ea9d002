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
refused with the position of the error. The compiled SQL names columns with
``psycopg.sql.Identifier`` and passes every value as a bound parameter:
nothing a user writes is ever pasted into SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ml.core.errors import EnrichError

if TYPE_CHECKING:
    from psycopg import sql as psql

MAX_RULE_LENGTH = 2_000
MAX_DEPTH = 32


class RuleError(EnrichError):
    """A rule that does not parse or type-check; says where and why."""

    def __init__(self, message: str, rule: str, position: int) -> None:
        self.position = position
        shown = rule if len(rule) <= 120 else rule[:117] + "..."
        caret = " " * min(position, len(shown)) + "^"
        super().__init__(
            f"{message} at position {position + 1}:\n    {shown}\n    {caret}"
        )


@dataclass(frozen=True)
class Field:
    """A field a rule may use: its column in the enriched profile and type."""

    name: str
    column: str
    kind: str  # number | text | boolean
    description: str


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
KEYWORDS = ("and", "or", "not", "in", "is", "null", "between", "true", "false")
OPERATORS = {"=": "=", "==": "=", "!=": "<>", "<>": "<>", "<": "<", "<=": "<="}
OPERATORS.update({">": ">", ">=": ">="})

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)
  | (?P<string>'(?:[^']|'')*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|<>|!=|==|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    """One token and where it starts in the rule."""

    kind: str  # number | string | name | keyword | op | punct | end
    text: str
    position: int


# -- syntax tree ----------------------------------------------------------------


@dataclass(frozen=True)
class Compare:
    """``field op value``."""

    field: Field
    op: str
    value: Any


@dataclass(frozen=True)
class InList:
    """``field [not] in (values)``."""

    field: Field
    values: tuple[Any, ...]
    negated: bool


@dataclass(frozen=True)
class Between:
    """``field between low and high`` (inclusive)."""

    field: Field
    low: Any
    high: Any


@dataclass(frozen=True)
class IsNull:
    """``field is [not] null``."""

    field: Field
    negated: bool


@dataclass(frozen=True)
class Flag:
    """A boolean field standing alone."""

    field: Field


@dataclass(frozen=True)
class Percent:
    """``top_percent(n)`` or ``bottom_percent(n)`` of the scoring run."""

    function: str
    value: float


@dataclass(frozen=True)
class Not:
    """``not expr``."""

    item: Any


@dataclass(frozen=True)
class BoolOp:
    """``a and b ...`` or ``a or b ...``."""

    op: str
    items: tuple[Any, ...]


# -- parsing --------------------------------------------------------------------


def tokenize(rule: str) -> list[Token]:
    """The rule's tokens, ending with an ``end`` token.

    Raises:
        RuleError: A character that belongs to no token (or an open quote).
    """
    tokens = []
    position = 0
    while position < len(rule):
        match = _TOKEN.match(rule, position)
        if match is None:
            char = rule[position]
            reason = (
                "unterminated text value (close it with ')"
                if char == "'"
                else f"unexpected character {char!r}"
            )
            raise RuleError(reason, rule, position)
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "name" and text.lower() in KEYWORDS:
            kind, text = "keyword", text.lower()
        if kind != "space":
            tokens.append(Token(kind, text, position))
        position = match.end()
    tokens.append(Token("end", "", len(rule)))
    return tokens


class _Parser:
    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.tokens = tokenize(rule)
        self.index = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def fail(self, message: str, token: Token | None = None) -> RuleError:
        token = token or self.token
        return RuleError(message, self.rule, token.position)

    def take(self) -> Token:
        token = self.token
        self.index += 1
        return token

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        if self.token.kind == kind and (text is None or self.token.text == text):
            return self.take()
        return None

    def expect(self, kind: str, text: str, what: str) -> Token:
        token = self.accept(kind, text)
        if token is None:
            raise self.fail(f"expected {what}, found {self._describe(self.token)}")
        return token

    @staticmethod
    def _describe(token: Token) -> str:
        return "the end of the rule" if token.kind == "end" else repr(token.text)

    def parse(self) -> Any:
        if not self.rule.strip():
            raise RuleError("the rule is empty", self.rule, 0)
        node = self.parse_or()
        if self.token.kind != "end":
            raise self.fail(
                f"expected 'and', 'or' or the end, found {self._describe(self.token)}"
            )
        return node

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"the rule nests deeper than {MAX_DEPTH} levels")

    def parse_or(self) -> Any:
        items = [self.parse_and()]
        while self.accept("keyword", "or"):
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def parse_and(self) -> Any:
        items = [self.parse_not()]
        while self.accept("keyword", "and"):
            items.append(self.parse_not())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def parse_not(self) -> Any:
        if self.accept("keyword", "not"):
            self.nested()
            node = Not(self.parse_not())
            self.depth -= 1
            return node
        return self.parse_primary()

    def parse_primary(self) -> Any:
        if self.accept("punct", "("):
            self.nested()
            node = self.parse_or()
            self.expect("punct", ")", "')'")
            self.depth -= 1
            return node
        token = self.token
        if token.kind != "name":
            raise self.fail(
                f"expected a field or a function, found {self._describe(token)}"
            )
        self.take()
        if token.text in FUNCTIONS:
            return self.parse_call(token)
        field = FIELDS.get(token.text)
        if field is None:
            raise self.fail(
                f"unknown field {token.text!r} (fields: {', '.join(sorted(FIELDS))}; "
                f"functions: {', '.join(FUNCTIONS)})",
                token,
            )
        return self.parse_condition(field, token)

    def parse_call(self, name: Token) -> Percent:
        self.expect("punct", "(", f"'(' after {name.text}")
        token = self.token
        value = self.parse_value()
        if not isinstance(value, float) or isinstance(value, bool):
            raise self.fail(f"{name.text} takes a number", token)
        if not 0 < value <= 100:
            raise self.fail(f"{name.text} takes a share between 0 and 100", token)
        self.expect("punct", ")", "')'")
        return Percent(name.text, value)

    def parse_condition(self, field: Field, name: Token) -> Any:
        token = self.token
        if token.kind == "op":
            self.take()
            value = self.typed_value(field)
            op = OPERATORS[token.text]
            if field.kind != "number" and op not in ("=", "<>"):
                raise self.fail(f"{field.name} is {field.kind}: use = or <>", token)
            return Compare(field, op, value)
        negated = False
        if token.kind == "keyword" and token.text == "not":
            self.take()
            negated = True
            if not (self.token.kind == "keyword" and self.token.text == "in"):
                raise self.fail("expected 'in' after 'not'")
        if self.accept("keyword", "in"):
            self.expect("punct", "(", "'(' after in")
            values = [self.typed_value(field)]
            while self.accept("punct", ","):
                values.append(self.typed_value(field))
            self.expect("punct", ")", "')' or ','")
            return InList(field, tuple(values), negated)
        if self.accept("keyword", "between"):
            if field.kind != "number":
                raise self.fail(
                    f"{field.name} is {field.kind}: between needs a number", token
                )
            low = self.typed_value(field)
            self.expect("keyword", "and", "'and' in between ... and ...")
            return Between(field, low, self.typed_value(field))
        if self.accept("keyword", "is"):
            negated = bool(self.accept("keyword", "not"))
            self.expect("keyword", "null", "'null' after is")
            return IsNull(field, negated)
        if field.kind == "boolean":
            return Flag(field)
        raise self.fail(
            f"{field.name} is {field.kind}: compare it with a value "
            "(=, <>, <, <=, >, >=, in, between, is null)",
            name,
        )

    def parse_value(self) -> Any:
        token = self.take()
        if token.kind == "number":
            return float(token.text)
        if token.kind == "string":
            return token.text[1:-1].replace("''", "'")
        if token.kind == "keyword" and token.text in ("true", "false"):
            return token.text == "true"
        raise self.fail(f"expected a value, found {self._describe(token)}", token)

    def typed_value(self, field: Field) -> Any:
        token = self.token
        value = self.parse_value()
        kind = (
            "boolean"
            if isinstance(value, bool)
            else "number"
            if isinstance(value, float)
            else "text"
        )
        if kind != field.kind:
            raise self.fail(
                f"{field.name} is {field.kind}, not {kind}: "
                + {
                    "number": "write a number such as 0.2",
                    "text": "quote text values, e.g. 'US'",
                    "boolean": "write true or false",
                }[field.kind],
                token,
            )
        return value


def parse(rule: str) -> Any:
    """The syntax tree of a rule.

    Raises:
        RuleError: The rule does not parse or uses a field wrongly.
    """
    if len(rule) > MAX_RULE_LENGTH:
        raise RuleError(
            f"the rule is longer than {MAX_RULE_LENGTH} characters", rule, 0
        )
    return _Parser(rule).parse()


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

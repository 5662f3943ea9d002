"""A small, safe condition language: tokenizer, parser, typed syntax tree.

The audience rules (:mod:`ml.activation.rules`) and the prediction spec's
conditions (:mod:`ml.core.predictions`) share it; each caller says which
fields exist (a :class:`Language`). A condition is a boolean expression::

    page_name = 'subscriptionForm'
    order_total > 50 and sku in ('A-1', 'B-2')
    days_since_last_event <= 90 and not has_email_consent

Grammar (keywords case-insensitive)::

    condition  := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | primary
    primary    := "(" or ")" | call | test
    call       := a function of the language "(" ... ")"
    test       := field [op value | ["not"] "in" "(" value ("," value)* ")"
                        | "between" value "and" value | "is" ["not"] "null"]
    value      := number | 'text' ('' escapes a quote) | true | false

Only the language's fields exist; a field is compared with a value of its
own type; a boolean field stands alone. Anything else is refused with the
position of the error (:class:`RuleError`). :func:`to_json` compiles a tree
to the typed JSON nodes the dbt macros render (fields by name, never SQL).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ml.core.errors import EnrichError

MAX_RULE_LENGTH = 2_000
MAX_DEPTH = 32

Value = float | str | bool


class RuleError(EnrichError):
    """A condition that does not parse or type-check; says where and why."""

    def __init__(self, message: str, rule: str, position: int) -> None:
        self.position = position
        self.reason = message
        shown = rule if len(rule) <= 120 else rule[:117] + "..."
        caret = " " * min(position, len(shown)) + "^"
        super().__init__(
            f"{message} at position {position + 1}:\n    {shown}\n    {caret}"
        )


@dataclass(frozen=True)
class Field:
    """A field a condition may use: its column and type."""

    name: str
    column: str
    kind: str  # number | text | boolean
    description: str


@dataclass(frozen=True)
class Language:
    """What a caller's conditions may use.

    Attributes:
        fields: The fields, by the name written in a condition.
        noun: What a condition is called in messages ("rule", "condition").
        functions: Names parsed as calls by a :class:`Parser` subclass.
        refused_in_text: Characters a text value may not hold.
    """

    fields: Mapping[str, Field]
    noun: str = "rule"
    functions: tuple[str, ...] = ()
    refused_in_text: str = ""


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
    """One token and where it starts in the condition."""

    kind: str  # number | string | name | keyword | op | punct | end
    text: str
    position: int


# -- syntax tree ----------------------------------------------------------------


class Node:
    """A node of a condition's syntax tree."""


@dataclass(frozen=True)
class Compare(Node):
    """``field op value``."""

    field: Field
    op: str
    value: Value


@dataclass(frozen=True)
class InList(Node):
    """``field [not] in (values)``."""

    field: Field
    values: tuple[Value, ...]
    negated: bool


@dataclass(frozen=True)
class Between(Node):
    """``field between low and high`` (inclusive)."""

    field: Field
    low: Value
    high: Value


@dataclass(frozen=True)
class IsNull(Node):
    """``field is [not] null``."""

    field: Field
    negated: bool


@dataclass(frozen=True)
class Flag(Node):
    """A boolean field standing alone."""

    field: Field


@dataclass(frozen=True)
class Not(Node):
    """``not expr``."""

    item: Node


@dataclass(frozen=True)
class BoolOp(Node):
    """``a and b ...`` or ``a or b ...``."""

    op: str
    items: tuple[Node, ...]


# -- parsing --------------------------------------------------------------------


def tokenize(rule: str) -> list[Token]:
    """The condition's tokens, ending with an ``end`` token.

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


_HINTS = {
    "number": "write a number such as 0.2",
    "text": "quote text values, e.g. 'US'",
    "boolean": "write true or false",
}


class Parser:
    """A recursive-descent parser of one condition in one language.

    A language with functions subclasses it and overrides :meth:`parse_call`.
    """

    def __init__(self, rule: str, language: Language) -> None:
        self.rule = rule
        self.language = language
        self.tokens = tokenize(rule)
        self.index = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        """The current token."""
        return self.tokens[self.index]

    def fail(self, message: str, token: Token | None = None) -> RuleError:
        """An error at the token (default: the current one)."""
        token = token or self.token
        return RuleError(message, self.rule, token.position)

    def take(self) -> Token:
        """The current token, moving past it."""
        token = self.token
        self.index += 1
        return token

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        """The current token if it matches (moving past it), else None."""
        if self.token.kind == kind and (text is None or self.token.text == text):
            return self.take()
        return None

    def expect(self, kind: str, text: str, what: str) -> Token:
        """The current token, which must match."""
        token = self.accept(kind, text)
        if token is None:
            raise self.fail(f"expected {what}, found {self.describe(self.token)}")
        return token

    def describe(self, token: Token) -> str:
        """A token as a message names it."""
        if token.kind == "end":
            return f"the end of the {self.language.noun}"
        return repr(token.text)

    def parse(self) -> Node:
        """The whole condition's tree."""
        if not self.rule.strip():
            raise RuleError(f"the {self.language.noun} is empty", self.rule, 0)
        node = self.parse_or()
        if self.token.kind != "end":
            raise self.fail(
                f"expected 'and', 'or' or the end, found {self.describe(self.token)}"
            )
        return node

    def nested(self) -> None:
        """One level deeper (refused past :data:`MAX_DEPTH`)."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(
                f"the {self.language.noun} nests deeper than {MAX_DEPTH} levels"
            )

    def parse_or(self) -> Node:
        """``and ("or" and)*``."""
        items = [self.parse_and()]
        while self.accept("keyword", "or"):
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def parse_and(self) -> Node:
        """``not ("and" not)*``."""
        items = [self.parse_not()]
        while self.accept("keyword", "and"):
            items.append(self.parse_not())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def parse_not(self) -> Node:
        """``"not" not | primary``."""
        if self.accept("keyword", "not"):
            self.nested()
            node = Not(self.parse_not())
            self.depth -= 1
            return node
        return self.parse_primary()

    def parse_primary(self) -> Node:
        """A parenthesised condition, a call or a test of a field."""
        if self.accept("punct", "("):
            self.nested()
            node = self.parse_or()
            self.expect("punct", ")", "')'")
            self.depth -= 1
            return node
        token = self.token
        functions = self.language.functions
        if token.kind != "name":
            what = "a field or a function" if functions else "a field"
            raise self.fail(f"expected {what}, found {self.describe(token)}")
        self.take()
        if token.text in functions:
            return self.parse_call(token)
        fields = self.language.fields
        field = fields.get(token.text)
        if field is None:
            known = f"fields: {', '.join(sorted(fields))}"
            if functions:
                known += f"; functions: {', '.join(functions)}"
            raise self.fail(f"unknown field {token.text!r} ({known})", token)
        return self.parse_test(field, token)

    def parse_call(self, name: Token) -> Node:
        """A call of one of the language's functions (none by default)."""
        raise self.fail(f"unknown function {name.text!r}", name)  # pragma: no cover

    def parse_test(self, field: Field, name: Token) -> Node:
        """What follows a field: a comparison, in, between, is null, or nothing."""
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

    def parse_value(self) -> Value:
        """A number, a quoted text or true/false."""
        token = self.take()
        if token.kind == "number":
            return float(token.text)
        if token.kind == "string":
            text = token.text[1:-1].replace("''", "'")
            refused = sorted({c for c in text if c in self.language.refused_in_text})
            if refused:
                shown = " or ".join(repr(c) for c in refused)
                raise self.fail(f"a text value here cannot hold {shown}", token)
            return text
        if token.kind == "keyword" and token.text in ("true", "false"):
            return token.text == "true"
        raise self.fail(f"expected a value, found {self.describe(token)}", token)

    def typed_value(self, field: Field) -> Value:
        """A value of the field's type."""
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
                f"{field.name} is {field.kind}, not {kind}: {_HINTS[field.kind]}",
                token,
            )
        return value


def parse(rule: str, language: Language, parser: type[Parser] = Parser) -> Node:
    """The syntax tree of a condition in a language.

    Raises:
        RuleError: The condition does not parse or uses a field wrongly.
    """
    if len(rule) > MAX_RULE_LENGTH:
        raise RuleError(
            f"the {language.noun} is longer than {MAX_RULE_LENGTH} characters",
            rule,
            0,
        )
    return parser(rule, language).parse()


# -- JSON nodes (the compiled prediction spec) ------------------------------------


def _json_value(value: Value) -> Value | int:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def to_json(node: Node) -> dict[str, Any]:
    """A tree as the typed JSON nodes of the compiled spec.

    Fields appear by column name; values as numbers, strings or booleans.
    """
    if isinstance(node, BoolOp):
        return {"op": node.op, "args": [to_json(item) for item in node.items]}
    if isinstance(node, Not):
        return {"op": "not", "arg": to_json(node.item)}
    if isinstance(node, Compare):
        value = _json_value(node.value)
        return {"op": node.op, "field": node.field.column, "value": value}
    if isinstance(node, InList):
        return {
            "op": "not in" if node.negated else "in",
            "field": node.field.column,
            "values": [_json_value(value) for value in node.values],
        }
    if isinstance(node, Between):
        return {
            "op": "between",
            "field": node.field.column,
            "low": _json_value(node.low),
            "high": _json_value(node.high),
        }
    if isinstance(node, IsNull):
        op = "is not null" if node.negated else "is null"
        return {"op": op, "field": node.field.column}
    if isinstance(node, Flag):
        return {"op": "flag", "field": node.field.column}
    raise TypeError(f"no JSON form for {node!r}")

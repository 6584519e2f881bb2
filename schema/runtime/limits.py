"""Abuse limits on GraphQL documents: tokens, depth, aliases, directives and cost.

`document_errors` enforces them all before any resolver runs, with one
GRAPHQL_VALIDATION_FAILED error per exceeded limit (never one per offending
node), each naming its setting. The limits are measured before the
specification's own validation rules, so a document over a limit never reaches
the costlier rules (such as overlapping-field checks). Parsing and validation are
cached by document text, so documents that clients send again and again are
parsed and validated once per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableDefinitionNode,
    VariableNode,
    get_named_type,
    get_variable_values,
    validate,
)
from graphql.language.parser import Parser
from graphql.validation import ASTValidationRule, ValidationContext, ValidationRule

LIMIT_CODE = "GRAPHQL_VALIDATION_FAILED"
CACHE_SIZE = 512
# Longer documents are parsed and validated every time, so the caches hold at
# most CACHE_SIZE * MAX_CACHED_QUERY_LENGTH characters of keys.
MAX_CACHED_QUERY_LENGTH = 16 * 1024
PAGE_SIZE_ARGUMENTS = ("first", "last")
INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})


@dataclass(frozen=True, slots=True)
class Limits:
    max_tokens: int
    max_depth: int
    max_aliases: int
    max_directives: int
    max_complexity: int
    default_page_size: int


def limit_error(message: str, setting: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": LIMIT_CODE, "limit": setting})


@dataclass(frozen=True, slots=True)
class LimitExceeded:
    """What parsing a document over a limit leaves in the parse cache."""

    message: str
    setting: str

    def error(self) -> GraphQLError:
        return limit_error(self.message, self.setting)


ParseOutcome = DocumentNode | GraphQLSyntaxError | LimitExceeded


def _parse(query: str, max_tokens: int) -> ParseOutcome:
    parser = Parser(query, max_tokens=max_tokens)
    try:
        return parser.parse_document()
    except GraphQLSyntaxError as error:
        # The lexer enforces the limit itself inside a run of comments, where the
        # parser's count lags behind, so the message is the one reliable sign.
        if error.message.endswith(
            f"Document contains more than {max_tokens} tokens. Parsing aborted."
        ):
            return LimitExceeded(
                f"The document has more than {max_tokens} tokens (MAX_TOKENS).", "MAX_TOKENS"
            )
        return error
    except RecursionError:
        return LimitExceeded(
            "The document is nested too deeply to parse (MAX_QUERY_DEPTH).", "MAX_QUERY_DEPTH"
        )


_cached_parse = lru_cache(maxsize=CACHE_SIZE)(_parse)


def parse_document(query: str, max_tokens: int) -> ParseOutcome:
    """The parsed document, its syntax error, or the limit that parsing it ran into."""
    if len(query) > MAX_CACHED_QUERY_LENGTH:
        return _parse(query, max_tokens)
    return _cached_parse(query, max_tokens)


def chosen_operation(
    document: DocumentNode, operation_name: str | None
) -> OperationDefinitionNode | None:
    """The operation a request runs: the one it names, else the document's first (as
    Strawberry has always picked it); None when the name matches no operation."""
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None
            or (definition.name is not None and definition.name.value == operation_name)
        ):
            return definition
    return None


@lru_cache(maxsize=CACHE_SIZE)
def _cached_validate(
    schema: GraphQLSchema,
    query: str,
    max_tokens: int,
    rules: tuple[type[ASTValidationRule], ...],
) -> list[GraphQLError]:
    """Keyed by the document's text: hashing a parsed document walks its whole tree."""
    document = parse_document(query, max_tokens)
    assert isinstance(document, DocumentNode)
    return validate(schema, document, rules)


@dataclass(slots=True)
class Measure:
    """What a selection set costs: nesting below it, aliases, directives, complexity."""

    depth: int = 0
    aliases: int = 0
    directives: int = 0
    cost: int = 0

    def add(self, other: Measure) -> None:
        self.depth = max(self.depth, other.depth)
        self.aliases += other.aliases
        self.directives += other.directives
        self.cost += other.cost


class DocumentMeasurer:
    """Walks a document once, expanding each fragment once (memoised), cycles counted as 0.

    A field with a `first` or `last` argument (a connection) costs that many times
    its selection; without one, the default page size. `first: $n` costs what
    execution would make of `n`: the request's value (or the operation's default)
    coerced by graphql-core as the operation defines the variable.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: dict[str, Any],
        default_page_size: int,
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.default_page_size = default_page_size
        self.fragments = {
            node.name.value: node
            for node in document.definitions
            if isinstance(node, FragmentDefinitionNode)
        }
        self._fragment_measures: dict[str, Measure] = {}
        self._definitions: dict[str, VariableDefinitionNode] = {}
        self._coerced: dict[str, int | None] = {}
        self.reads_variables = False
        """Whether a page size came from a variable, so that the measure is per request."""

    def operation(self, operation: OperationDefinitionNode) -> Measure:
        # Fragments cost what this operation's variables make them cost.
        self._fragment_measures = {}
        self._definitions = {
            definition.variable.name.value: definition
            for definition in operation.variable_definitions or ()
        }
        self._coerced = {}
        root = self.schema.get_root_type(operation.operation or OperationType.QUERY)
        measure = self.selection_set(operation.selection_set, root, frozenset())
        measure.directives += len(operation.directives or ())
        return measure

    def selection_set(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLNamedType | None,
        visiting: frozenset[str],
    ) -> Measure:
        total = Measure()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total.add(self.field(selection, parent, visiting))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                inline = self.selection_set(selection.selection_set, target, visiting)
                inline.directives += len(selection.directives or ())
                total.add(inline)
            elif isinstance(selection, FragmentSpreadNode):
                total.directives += len(selection.directives or ())
                total.add(self.fragment(selection.name.value, visiting))
        return total

    def fragment(self, name: str, visiting: frozenset[str]) -> Measure:
        definition = self.fragments.get(name)
        if definition is None or name in visiting:
            return Measure()
        if name not in self._fragment_measures:
            target = self.schema.get_type(definition.type_condition.name.value)
            measure = self.selection_set(definition.selection_set, target, visiting | {name})
            measure.directives += len(definition.directives or ())
            self._fragment_measures[name] = measure
        cached = self._fragment_measures[name]
        return Measure(cached.depth, cached.aliases, cached.directives, cached.cost)

    def field(
        self, node: FieldNode, parent: GraphQLNamedType | None, visiting: frozenset[str]
    ) -> Measure:
        own = Measure(aliases=1 if node.alias else 0, directives=len(node.directives or ()), cost=1)
        if node.selection_set is None:
            return own
        definition = _field_definition(parent, node.name.value)
        child_type = get_named_type(definition.type) if definition else None
        below = self.selection_set(node.selection_set, child_type, visiting)
        own.aliases += below.aliases
        own.directives += below.directives
        if node.name.value in INTROSPECTION_ROOTS:
            # Introspection is switched off in production; in development GraphiQL's
            # own introspection query is deeper than any limit a client should get.
            return own
        own.depth = below.depth + 1
        own.cost += self._page_size(node, definition) * below.cost
        return own

    def _page_size(self, node: FieldNode, definition: GraphQLField | None) -> int:
        if definition is None or not any(name in definition.args for name in PAGE_SIZE_ARGUMENTS):
            return 1
        sizes = [self._int_argument(node, name) for name in PAGE_SIZE_ARGUMENTS]
        given = [size for size in sizes if size is not None]
        return max(given) if given else self.default_page_size

    def _int_argument(self, node: FieldNode, name: str) -> int | None:
        for argument in node.arguments or ():
            if argument.name.value != name:
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return max(int(value.value), 0)
            if isinstance(value, VariableNode):
                self.reads_variables = True
                return self._int_variable(value.name.value)
        return None

    def _int_variable(self, name: str) -> int | None:
        if name not in self._coerced:
            self._coerced[name] = self._coerce_int_variable(name)
        return self._coerced[name]

    def _coerce_int_variable(self, name: str) -> int | None:
        """The variable's value as execution coerces it, if an Int; None when it is
        null, not given (nor defaulted), or does not coerce: then the operation never
        runs, and execution answers graphql-core's own variable error."""
        definition = self._definitions.get(name)
        if definition is None:
            return None
        coerced = get_variable_values(self.schema, [definition], self.variables)
        if isinstance(coerced, list):
            return None
        value = coerced.coerced.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return max(value, 0)
        return None


def _field_definition(parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        definition: GraphQLField | None = parent.fields.get(name)
        return definition
    return None


def measure_document(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: dict[str, Any],
    default_page_size: int,
) -> Measure:
    """Depth and cost of the worst operation; aliases and directives of all of them."""
    return _measure(DocumentMeasurer(schema, document, variables, default_page_size), document)


def _measure(measurer: DocumentMeasurer, document: DocumentNode) -> Measure:
    total = Measure()
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            operation = measurer.operation(definition)
            total.depth = max(total.depth, operation.depth)
            total.cost = max(total.cost, operation.cost)
            total.aliases += operation.aliases
            total.directives += operation.directives
    return total


@lru_cache(maxsize=CACHE_SIZE)
def _variable_free_measure(
    schema: GraphQLSchema, query: str, max_tokens: int, default_page_size: int
) -> Measure | None:
    """The measure of a document whose page sizes are all literal; None when one is a variable."""
    document = parse_document(query, max_tokens)
    if not isinstance(document, DocumentNode):
        return None
    measurer = DocumentMeasurer(schema, document, {}, default_page_size)
    measure = _measure(measurer, document)
    return None if measurer.reads_variables else measure


def limit_errors(measure: Measure, limits: Limits) -> list[GraphQLError]:
    checks = (
        (measure.depth, limits.max_depth, "MAX_QUERY_DEPTH", "Query depth"),
        (measure.aliases, limits.max_aliases, "MAX_ALIASES", "Number of aliases"),
        (measure.directives, limits.max_directives, "MAX_DIRECTIVES", "Number of directives"),
        (measure.cost, limits.max_complexity, "MAX_COMPLEXITY", "Query complexity"),
    )
    return [
        limit_error(f"{what} {value} exceeds the limit of {limit} ({setting}).", setting)
        for value, limit, setting, what in checks
        if value > limit
    ]


class NoIntrospectionRule(ValidationRule):
    """One error for a document that asks for `__schema` or `__type`, however often."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.reported = False

    def enter_field(self, node: FieldNode, *_: object) -> None:
        if node.name.value in INTROSPECTION_ROOTS and not self.reported:
            self.reported = True
            self.report_error(
                GraphQLError("GraphQL introspection is turned off on this server.", node)
            )


def document_errors(
    schema: GraphQLSchema,
    query: str,
    document: DocumentNode,
    *,
    variables: dict[str, Any] | None,
    limits: Limits,
    rules: tuple[type[ASTValidationRule], ...],
) -> list[GraphQLError]:
    """The limits `document` exceeds, else its validation errors; none for a valid document.

    Documents from the parse cache are measured and validated once per text (their
    measure again per request only where a page size comes from a variable); long
    ones every time.
    """
    cached = (
        len(query) <= MAX_CACHED_QUERY_LENGTH
        and parse_document(query, limits.max_tokens) is document
    )
    measure = (
        _variable_free_measure(schema, query, limits.max_tokens, limits.default_page_size)
        if cached
        else None
    )
    if measure is None:
        measure = measure_document(schema, document, variables or {}, limits.default_page_size)
    errors = limit_errors(measure, limits)
    if errors:
        return errors
    if cached:
        return list(_cached_validate(schema, query, limits.max_tokens, rules))
    return validate(schema, document, rules)

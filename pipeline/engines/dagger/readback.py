"""Reading a lazy Dagger query back, without an engine: ``plan --calls`` and the tests.

The printed chain is what runs, not a parallel description that could drift from
it: every line is rendered from the query's own selections, in the SDK's Python
spelling (``from_``, ``with_mounted_cache``), with a secret's value always masked.
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dagger
from dagger.client.base import Enum, Input, Type

from pipeline.model.secrets import MASK


@dataclass(frozen=True, slots=True)
class Call:
    """One selection of a lazy query, in the SDK's Python spelling."""

    type_name: str  # GraphQL type the field is on ("Query", "Container"...)
    method: str  # Python method name ("from_", "with_mounted_cache")
    args: dict[str, Any]  # GraphQL argument name -> value, as the SDK will send it


def calls(obj: Type) -> list[Call]:
    """The selections of a lazy Dagger object, without an engine."""
    return [Call(f.type_name, _python_name(f.type_name, f.name), dict(f.args)) for f in obj._ctx.selections]


def describe_chain(obj: Type, names: Mapping[int, str] | None = None) -> list[str]:
    """The chain as readable lines: the first builds the object, then one ``.call`` a line.

    ``names`` maps ``id()`` of nested objects (services) to a short label shown
    instead of their whole chain. A ``set_secret`` value is always masked.
    """
    labels = names or {}
    lines: list[str] = []
    for sel in obj._ctx.selections:
        text = _render_call(sel.type_name, sel.name, sel.args, labels)
        # A new line for each step on the container, except `from`, which
        # belongs with `container()` as the line that names the image.
        if lines and sel.type_name == "Container" and sel.name != "from":
            lines.append("." + text)
        elif lines:
            lines[-1] += "." + text
        else:
            lines.append(text)
    return lines


def _sdk_class(type_name: str) -> type[Any] | None:
    cls = dagger.Client if type_name == "Query" else getattr(dagger, type_name, None)
    return cls if isinstance(cls, type) else None


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _python_name(type_name: str, field: str) -> str:
    name = _snake(field)
    cls = _sdk_class(type_name)
    if cls is not None and not hasattr(cls, name) and hasattr(cls, name + "_"):
        return name + "_"  # `from` is a Python keyword: the SDK spells it `from_`
    return name


def _render_call(type_name: str, field: str, args: dict[str, Any], labels: Mapping[int, str]) -> str:
    method = _python_name(type_name, field)
    cls = _sdk_class(type_name)
    fn = getattr(cls, method, None) if cls is not None else None
    positional: list[str] = []
    hints: dict[str, Any] = {}
    if fn is not None:
        params = list(inspect.signature(fn).parameters.values())[1:]  # drop self
        positional = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
        try:
            hints = typing.get_type_hints(fn)
        except (NameError, TypeError):  # an annotation we cannot evaluate: plain output
            hints = {}

    def text(gql_name: str) -> str:
        if type_name == "Query" and field == "setSecret" and gql_name == "plaintext":
            return MASK  # a secret's value is never printed; its name is enough
        return _render_value(args[gql_name], hints.get(_snake(gql_name)), labels)

    # Positional arguments in the SDK's signature order, then keywords as sent.
    pos = sorted((g for g in args if _snake(g) in positional), key=lambda g: positional.index(_snake(g)))
    kw = [g for g in args if _snake(g) not in positional]
    rendered = [text(g) for g in pos] + [f"{_snake(g)}={text(g)}" for g in kw]
    return f"{method}({', '.join(rendered)})"


def _enum_class(hint: Any) -> type[Enum] | None:
    for candidate in (hint, *typing.get_args(hint)):
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            return candidate
    return None


def _input_class(hint: Any) -> type[Any] | None:
    for candidate in (hint, *typing.get_args(hint)):
        for inner in (candidate, *typing.get_args(candidate)):
            if isinstance(inner, type) and issubclass(inner, Input):
                return inner
    return None


def _render_value(value: Any, hint: Any, labels: Mapping[int, str]) -> str:  # noqa: PLR0911  one per kind
    if isinstance(value, Type):
        if id(value) in labels:
            return labels[id(value)]
        return "".join(
            ("." if i else "") + _render_call(f.type_name, f.name, f.args, labels)
            for i, f in enumerate(value._ctx.selections)
        )
    if isinstance(value, str) and _enum_class(hint) is not None:
        return value  # LOCKED, ANY: the enum member, as the SDK sends it
    if isinstance(value, dict):
        cls = _input_class(hint)
        inner = ", ".join(f"{k}={_render_value(v, None, labels)}" for k, v in value.items())
        return f"{cls.__name__}({inner})" if cls is not None else "{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_render_value(v, hint, labels) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)  # double quotes and escapes, as in the SDK's docs
    return repr(value)

"""Turn pydantic validation failures into the library's single-line :class:`ConfigError`."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import ConfigError

M = TypeVar("M", bound=BaseModel)

_MISSING = object()


def _dotted(loc: tuple, prefix: str = "") -> str:
    parts = [str(p) for p in loc if not (isinstance(p, str) and p.startswith("function-"))]
    text = ".".join(parts)
    return f"{prefix}.{text}" if prefix and text else (prefix or text or "config")


def _joined(loc: tuple, field: str) -> tuple:
    """The location of a validator's error: ``loc`` (where pydantic ran the validator) joined with
    the field the validator named, which may repeat the end of ``loc`` (("teacher",) + "teacher.k"
    -> teacher.k; ("teacher",) + "k" -> teacher.k; () + "steps.1.batch" -> steps.1.batch)."""
    outer = [str(p) for p in loc if not (isinstance(p, str) and p.startswith("function-"))]
    inner = [p for p in field.split(".") if p]
    for overlap in range(min(len(outer), len(inner)), 0, -1):
        if outer[len(outer) - overlap:] == inner[:overlap]:
            return tuple(outer + inner[overlap:])
    return tuple(outer + inner)


def _allowed(err: dict, model: type[BaseModel], loc: tuple) -> str:
    typ = err["type"]
    ctx = err.get("ctx") or {}
    if typ == "missing":
        return "given (it is required)"
    if typ == "extra_forbidden":
        return "one of the known fields (this field is unknown)"
    if typ == "literal_error":
        return f"one of {ctx.get('expected')}"
    if typ in ("int_type", "int_parsing", "int_from_float", "int_parsing_size"):
        return "an integer"
    if typ in ("float_type", "float_parsing", "finite_number"):
        return "a finite float"
    if typ in ("bool_type", "bool_parsing"):
        return "a boolean"
    if typ in ("string_type",):
        return "a string"
    if typ in ("list_type", "tuple_type"):
        return "a list"
    if typ in ("dict_type", "model_type", "model_attributes_type"):
        return "a mapping"
    if typ == "greater_than":
        return f"a number > {ctx.get('gt')}"
    if typ == "greater_than_equal":
        return f"a number >= {ctx.get('ge')}"
    if typ == "less_than":
        return f"a number < {ctx.get('lt')}"
    if typ == "less_than_equal":
        return f"a number <= {ctx.get('le')}"
    if typ == "too_short":
        return f"a list with at least {ctx.get('min_length')} item(s)"
    if typ == "too_long":
        return f"a list with at most {ctx.get('max_length')} item(s)"
    if typ == "union_tag_invalid":
        return f"one of {ctx.get('expected_tags')}"
    if typ == "value_error":
        inner = ctx.get("error")
        if isinstance(inner, ConfigError):
            return inner.allowed
        return str(inner) if inner is not None else err.get("msg", "valid")
    return err.get("msg", "valid").lower()


def validate(model: type[M], data: Any, prefix: str = "") -> M:
    """``model.model_validate(data)``, raising :class:`ConfigError` for the first problem found."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = tuple(err.get("loc", ()))
        ctx = err.get("ctx") or {}
        inner = ctx.get("error")
        if isinstance(inner, ConfigError):
            raise ConfigError(_dotted(_joined(loc, inner.field), prefix), inner.allowed, inner.got) from None
        got = err.get("input", _MISSING)
        if err["type"] == "missing":
            got = None
        raise ConfigError(_dotted(loc, prefix), _allowed(err, model, loc), got) from None

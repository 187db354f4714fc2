"""Domain events to and from JSON, for buses that cross process boundaries.

An event travels as `{"type": "<class name>", "data": {<field>: <value>}}`. The class is looked up
by name in `domain.events` and must be a dataclass subclass of `Event`, so a new event class needs
no edit here. Values are converted by the field's annotation: UUIDs (and the NewType ids over them)
and datetimes as ISO strings, enums by value, str/int/float/bool as themselves, `X | None`, and
`tuple[X, ...]`. Decoding checks every value against its annotation and raises `UndecodableEvent`
for anything else: the payload comes from the network, so nothing in it is trusted.

Fields the receiving class does not know are ignored, so that during a rolling deploy a replica
can read an event a newer replica added a field to; a missing field without a default is refused.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import orjson

import domain.events
from domain.events import Event


class UndecodableEvent(ValueError):
    """A payload that is not an event this code knows: unknown type, bad shape or bad value."""


_Convert = Callable[[Any], Any]


@dataclasses.dataclass(frozen=True, slots=True)
class _Field:
    name: str
    encode: _Convert
    decode: _Convert
    required: bool


def _base(annotation: Any) -> Any:
    """The runtime type under NewTypes (WardId → UUID)."""
    while hasattr(annotation, "__supertype__"):
        annotation = annotation.__supertype__
    return annotation


def _expect(kind: type | tuple[type, ...], what: str) -> _Convert:
    def check(value: Any) -> Any:
        # bool is an int in Python, never in an event: refuse True where a count is expected.
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
            raise UndecodableEvent(f"expected {what}, got {type(value).__name__}")
        return value

    return check


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _parse(parser: Callable[[str], Any], what: str) -> _Convert:
    def parse(value: Any) -> Any:
        if not isinstance(value, str):
            raise UndecodableEvent(f"expected {what} as a string, got {type(value).__name__}")
        try:
            return parser(value)
        except ValueError as error:
            raise UndecodableEvent(f"bad {what}: {value[:64]!r}") from error

    return parse


def _converters(annotation: Any) -> tuple[_Convert, _Convert]:
    """(encode, decode) for one annotation; TypeError for a type events may not carry."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) != 1 or len(typing.get_args(annotation)) != 2:
            raise TypeError(f"events may only use X | None unions, not {annotation}")
        inner_encode, inner_decode = _converters(members[0])
        return (
            lambda v: None if v is None else inner_encode(v),
            lambda v: None if v is None else inner_decode(v),
        )
    if origin is tuple:
        args = typing.get_args(annotation)
        if len(args) != 2 or args[1] is not Ellipsis:
            raise TypeError(f"events may only use tuple[X, ...], not {annotation}")
        item_encode, item_decode = _converters(args[0])

        def decode_tuple(value: Any) -> tuple[Any, ...]:
            if not isinstance(value, list):
                raise UndecodableEvent(f"expected a list, got {type(value).__name__}")
            return tuple(item_decode(item) for item in value)

        return (lambda v: [item_encode(item) for item in v], decode_tuple)
    base = _base(annotation)
    if base is uuid.UUID:
        return str, _parse(uuid.UUID, "UUID")
    if base is datetime:
        return datetime.isoformat, _parse(datetime.fromisoformat, "datetime")
    if base is date:
        return date.isoformat, _parse(date.fromisoformat, "date")
    if isinstance(base, type) and issubclass(base, enum.Enum):

        def decode_enum(value: Any) -> enum.Enum:
            try:
                return base(value)
            except ValueError as error:
                raise UndecodableEvent(f"bad {base.__name__}: {value!r}") from error

        return (lambda v: v.value), decode_enum
    if base is bool:
        return bool, _expect(bool, "a boolean")
    if base is int:
        return int, _expect(int, "an integer")
    if base is float:
        return float, lambda v: float(_expect((int, float), "a number")(v))
    if base is str:
        return str, _expect(str, "a string")
    raise TypeError(f"events cannot carry {annotation!r} over the bus")


@functools.cache
def _fields(cls: type[Event]) -> tuple[_Field, ...]:
    hints = typing.get_type_hints(cls)
    result = []
    for f in dataclasses.fields(cls):
        encode, decode = _converters(hints[f.name])
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        result.append(_Field(f.name, encode, decode, required))
    return tuple(result)


def event_class(name: object) -> type[Event]:
    """The event class called `name` in domain.events; UndecodableEvent if there is none."""
    cls = getattr(domain.events, name, None) if isinstance(name, str) else None
    if (
        not isinstance(cls, type)
        or not issubclass(cls, Event)
        or cls is Event
        or not dataclasses.is_dataclass(cls)
    ):
        raise UndecodableEvent(f"unknown event type {str(name)[:64]!r}")
    return cls


def encode(event: Event) -> bytes:
    cls = type(event)
    try:
        known = event_class(cls.__name__) is cls
    except UndecodableEvent:
        known = False
    if not known:
        # Receivers look the class up by name in domain.events: anything else would be refused.
        raise TypeError(f"{cls.__qualname__} is not an event of domain.events")
    data = {f.name: f.encode(getattr(event, f.name)) for f in _fields(cls)}
    return orjson.dumps({"type": cls.__name__, "data": data})


def decode(payload: bytes | str) -> Event:
    try:
        message = orjson.loads(payload)
    except orjson.JSONDecodeError as error:
        raise UndecodableEvent("not JSON") from error
    if not isinstance(message, dict) or not isinstance(message.get("data"), dict):
        raise UndecodableEvent("expected {type, data}")
    cls = event_class(message.get("type"))
    data = message["data"]
    values = {}
    for f in _fields(cls):
        if f.name in data:
            try:
                values[f.name] = f.decode(data[f.name])
            except UndecodableEvent as error:
                raise UndecodableEvent(f"{cls.__name__}.{f.name}: {error}") from error
        elif f.required:
            raise UndecodableEvent(f"{cls.__name__}.{f.name} is missing")
    return cls(**values)

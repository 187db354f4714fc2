"""Events to JSON and back: every event class of domain.events, and nothing else."""

from __future__ import annotations

import dataclasses
import enum
import inspect
import types
import typing
import uuid
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

import domain.events
from adapters.bus import codec
from domain.events import Event, TipUpdated


def _event_classes() -> list[type[Event]]:
    """Every event the domain defines, read from the module so a new one is covered at once."""
    return [
        cls
        for _, cls in inspect.getmembers(domain.events, inspect.isclass)
        if issubclass(cls, Event) and cls is not Event
    ]


def _sample(annotation: object, n: int) -> object:
    """A value of the annotated type, different for each n."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _sample(inner, n)
    if typing.get_origin(annotation) is tuple:
        (item, _) = typing.get_args(annotation)
        return (_sample(item, n), _sample(item, n + 1))
    while hasattr(annotation, "__supertype__"):
        annotation = annotation.__supertype__
    if annotation is uuid.UUID:
        return uuid.uuid4()
    if annotation is datetime:
        return datetime(2026, 11, 23, 8, 15, 30, 123456, tzinfo=UTC) + timedelta(minutes=n)
    if annotation is bool:
        return n % 2 == 1
    if annotation is int:
        return 1000 + n
    if annotation is float:
        return 0.5 + n
    if annotation is str:
        return f"giá trị {n} — Phường Tân Mai"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return list(annotation)[n % len(annotation)]
    raise AssertionError(f"no sample for {annotation!r}: teach the test (and the codec) this type")


def _instance(cls: type[Event]) -> Event:
    hints = typing.get_type_hints(cls)
    return cls(**{f.name: _sample(hints[f.name], i) for i, f in enumerate(dataclasses.fields(cls))})


EVENT_CLASSES = _event_classes()


def test_the_module_defines_events() -> None:
    assert len(EVENT_CLASSES) >= 20
    assert TipUpdated in EVENT_CLASSES


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda cls: cls.__name__)
def test_every_event_class_round_trips(cls: type[Event]) -> None:
    event = _instance(cls)
    payload = codec.encode(event)
    message = orjson.loads(payload)
    assert message["type"] == cls.__name__
    assert set(message["data"]) == {f.name for f in dataclasses.fields(cls)}
    decoded = codec.decode(payload)
    assert type(decoded) is cls
    assert decoded == event
    for f in dataclasses.fields(cls):
        assert type(getattr(decoded, f.name)) is type(getattr(event, f.name))


def test_values_travel_as_plain_json() -> None:
    tip_id, ward_id = uuid.uuid4(), uuid.uuid4()
    event = domain.events.BulletinApproved(
        bulletin_id=tip_id, ward_id=ward_id, at=datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    )
    assert orjson.loads(codec.encode(event)) == {
        "type": "BulletinApproved",
        "data": {
            "bulletin_id": str(tip_id),
            "ward_id": str(ward_id),
            "at": "2026-11-23T01:00:00+00:00",
        },
    }


def test_a_datetime_keeps_its_offset() -> None:
    at = datetime(2026, 11, 23, 8, 0, tzinfo=timezone(timedelta(hours=7)))
    event = domain.events.BulletinScheduled(uuid.uuid4(), uuid.uuid4(), at)
    decoded = codec.decode(codec.encode(event))
    assert decoded == event
    assert decoded.at.utcoffset() == timedelta(hours=7)


def test_str_input_decodes_too() -> None:
    event = TipUpdated(uuid.uuid4(), uuid.uuid4(), "triaged")
    assert codec.decode(codec.encode(event).decode()) == event


def test_fields_it_does_not_know_are_ignored() -> None:
    """A newer replica may add a field during a rolling deploy; older ones still read the event."""
    event = TipUpdated(uuid.uuid4(), uuid.uuid4(), "assigned")
    message = orjson.loads(codec.encode(event))
    message["data"]["priority"] = 3
    assert codec.decode(orjson.dumps(message)) == event


def _valid() -> dict:
    return orjson.loads(codec.encode(TipUpdated(uuid.uuid4(), uuid.uuid4(), "assigned")))


def _with(**changes: object) -> bytes:
    message = _valid()
    for key, value in changes.items():
        if key.startswith("data_"):
            message["data"][key[5:]] = value
        else:
            message[key] = value
    return orjson.dumps(message)


def _without_field(name: str) -> bytes:
    message = _valid()
    del message["data"][name]
    return orjson.dumps(message)


GARBAGE = {
    "empty": b"",
    "not json": b"\x00\xffTipUpdated",
    "truncated": codec.encode(TipUpdated(uuid.uuid4(), uuid.uuid4(), "x"))[:-5],
    "a list": b"[1, 2]",
    "a string": b'"TipUpdated"',
    "null": b"null",
    "no type": orjson.dumps({"data": {}}),
    "no data": orjson.dumps({"type": "TipUpdated"}),
    "data not an object": _with(data=["tip_id"]),
    "unknown type": _with(type="TipExploded"),
    "type not a string": _with(type=["TipUpdated"]),
    "the base class": orjson.dumps({"type": "Event", "data": {}}),
    "a module attribute that is no event": orjson.dumps({"type": "datetime", "data": {}}),
    "a dunder": orjson.dumps({"type": "__class__", "data": {}}),
    "an import of the module": orjson.dumps({"type": "dataclass", "data": {}}),
    "a missing field": _without_field("status"),
    "a bad uuid": _with(data_tip_id="not-a-uuid"),
    "a uuid as a number": _with(data_ward_id=12345),
    "a null id": _with(data_tip_id=None),
    "a number for a string": _with(data_status=7),
}


@pytest.mark.parametrize("payload", GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_is_refused(payload: bytes) -> None:
    with pytest.raises(codec.UndecodableEvent):
        codec.decode(payload)


@pytest.mark.parametrize(
    ("field", "value"),
    [("created", "3"), ("created", True), ("created", 1.5), ("ward_id", "")],
)
def test_values_of_the_wrong_type_are_refused(field: str, value: object) -> None:
    message = orjson.loads(codec.encode(domain.events.MembersImported(uuid.uuid4(), 1, 2)))
    message["data"][field] = value
    with pytest.raises(codec.UndecodableEvent):
        codec.decode(orjson.dumps(message))


def test_a_boolean_must_be_a_boolean() -> None:
    message = orjson.loads(
        codec.encode(domain.events.DeliveryFailed(uuid.uuid4(), uuid.uuid4(), dead=True))
    )
    message["data"]["dead"] = 1
    with pytest.raises(codec.UndecodableEvent):
        codec.decode(orjson.dumps(message))


def test_a_bad_datetime_is_refused() -> None:
    message = orjson.loads(
        codec.encode(domain.events.BulletinApproved(uuid.uuid4(), uuid.uuid4(), datetime.now(UTC)))
    )
    message["data"]["at"] = "yesterday"
    with pytest.raises(codec.UndecodableEvent):
        codec.decode(orjson.dumps(message))


def test_only_events_of_the_domain_encode() -> None:
    @dataclasses.dataclass(frozen=True)
    class Impostor(Event):
        ward_id: uuid.UUID

    with pytest.raises(TypeError):
        codec.encode(Impostor(uuid.uuid4()))
    with pytest.raises(TypeError):
        codec.encode(object())  # type: ignore[arg-type]


class Colour(enum.StrEnum):
    RED = "red"


@dataclasses.dataclass(frozen=True, slots=True)
class TipsMerged(Event):
    """An event of a kind domain.events may define one day."""

    tip_ids: tuple[uuid.UUID, ...]
    colour: Colour
    note: str | None = None
    score: float = 0.0


def test_optional_tuple_and_enum_fields_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    """What future events may carry works without an edit to the codec."""
    monkeypatch.setattr(domain.events, "TipsMerged", TipsMerged, raising=False)
    event = TipsMerged((uuid.uuid4(), uuid.uuid4()), Colour.RED, note="ghi chú", score=2)
    decoded = codec.decode(codec.encode(event))
    assert decoded == event
    assert isinstance(decoded.tip_ids, tuple)
    assert isinstance(decoded.score, float)
    minimal = {"type": "TipsMerged", "data": {"tip_ids": [], "colour": "red", "note": None}}
    assert codec.decode(orjson.dumps(minimal)) == TipsMerged((), Colour.RED)
    for bad in ({"colour": "blue"}, {"tip_ids": "x"}, {"tip_ids": ["x"]}, {"note": 3}):
        with pytest.raises(codec.UndecodableEvent):
            codec.decode(orjson.dumps({**minimal, "data": {**minimal["data"], **bad}}))


def test_a_class_that_is_not_in_domain_events_is_refused() -> None:
    """TipsMerged exists here, but a receiver only knows what domain.events defines."""
    with pytest.raises(TypeError):
        codec.encode(TipsMerged((), Colour.RED))
    with pytest.raises(codec.UndecodableEvent):
        codec.decode(orjson.dumps({"type": "TipsMerged", "data": {"tip_ids": [], "colour": "red"}}))

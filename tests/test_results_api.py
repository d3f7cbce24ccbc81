"""The results entry points (results/__init__.py) and the conversion policy (convert.py):
layouts, bounds at their edges, records, and the warning line of every lossy step."""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

import pyexec_store as ps
from pyexec_store import results
from pyexec_store.results import decode_results, encode_results, make_json_serializable

BIG = 2**70  # beyond 64 bits: the exact walker writes it
VALUE = {"a": [1, {"b": None}], "c": "ü"}


def compact(value: Any) -> tuple[Any, list[str]]:
    encoded = encode_results(value, indent=None)
    return orjson.loads(encoded.data), encoded.warnings


@pytest.mark.parametrize("indent", [None, 0, 2, 4])
@pytest.mark.parametrize("value", [VALUE, {**VALUE, "big": BIG}], ids=["fast", "exact"])
def test_every_indent_is_laid_out_as_the_stdlib_does(value: Any, indent: int | None) -> None:
    expected = json.dumps(value, indent=indent, ensure_ascii=False)
    if indent is None:
        expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert encode_results(value, indent=indent).data == expected.encode() + b"\n"


def test_an_int_subclass_is_an_indent_and_a_bool_is_not() -> None:
    class Four(int):
        pass

    assert encode_results([1], indent=Four(4)).data == b"[\n    1\n]\n"
    for bad in (True, 1.5, "2"):
        with pytest.raises(ps.ConfigTypeError, match="indent must be an int or None"):
            encode_results([1], indent=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [VALUE, {**VALUE, "big": BIG}], ids=["fast", "exact"])
def test_max_bytes_is_inclusive(value: Any) -> None:
    data = encode_results(value).data
    assert encode_results(value, max_bytes=len(data)).data == data
    smaller = encode_results(value, max_bytes=len(data) - 1)
    assert orjson.loads(smaller.data)["_serialization_failed"] is True
    assert smaller.warnings == [
        f"results: document larger than max_bytes={len(data) - 1} (at least {len(data)} bytes); "
        "written as a _serialization_failed record"
    ]


def test_max_bytes_zero_refuses_every_document_and_negative_is_an_error() -> None:
    record = orjson.loads(encode_results(1, max_bytes=0).data)
    assert record["_error"] == "document larger than 0 bytes (max_bytes)"
    with pytest.raises(ps.ConfigError, match="max_bytes must be >= 0"):
        encode_results(1, max_bytes=-1)


def test_a_record_has_the_layout_asked_for() -> None:
    indented = encode_results({"a": "x" * 50}, max_bytes=10)
    assert indented.data.startswith(b'{\n  "_serialization_failed": true,\n')
    flat = encode_results({"a": "x" * 50}, max_bytes=10, indent=None)
    assert flat.data.startswith(b'{"_serialization_failed":true,"_original_type":"dict",')
    assert flat.data.endswith(b"}\n") and b"\n" not in flat.data[:-1]


def test_make_json_serializable_keeps_big_ints_and_honours_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert make_json_serializable({"big": BIG, "n": [np.int64(3)]}) == {"big": BIG, "n": [3]}
    monkeypatch.setattr(results, "MAX_BYTES", 10)
    for value in ({"a": "x" * 50}, {"a": "x" * 50, "big": BIG}):
        record = make_json_serializable(value)
        assert record["_serialization_failed"] is True
        assert record["_original_type"] == "dict"
        assert record["_error"] == "document larger than 10 bytes (max_bytes)"


def test_a_str_with_a_lone_surrogate_is_invalid_json() -> None:
    with pytest.raises(orjson.JSONDecodeError):
        decode_results('"\ud800"')


# -- the conversion policy -----------------------------------------------------


def test_keys_the_original_could_write_are_not_warned_about() -> None:
    assert compact({True: 1, None: 2, 1.5: 3, 7: 4, "s": 5}) == (
        {"true": 1, "null": 2, "1.5": 3, "7": 4, "s": 5},
        [],
    )


class Colour(enum.Enum):
    RED = "red"


def test_keys_the_original_refused_are_written_and_warned_about() -> None:
    huge = 10**5000
    value, warnings = compact(
        {
            np.True_: 1,
            np.datetime64("2026-01-02"): 2,
            Colour.RED: 3,
            huge: 4,
        }
    )
    assert value == {"true": 1, "2026-01-02T00:00:00": 2, "red": 3, hex(huge): 4}
    assert warnings == [
        "results: 1 key of type bool written as string",
        "results: 1 key of type datetime64 written as string",
        "results: 1 key of type Colour written as string",
        "results: 1 key of type int written as string",
    ]


def test_duplicate_keys_keep_the_last_value_and_say_how_many() -> None:
    assert compact({1: "a", "1": "b"}) == (
        {"1": "b"},
        ["results: 1 duplicate key as JSON text; the last value kept, as the original"],
    )
    assert compact({1: "a", "1": "b", 2: "c", "2": "d"}) == (
        {"1": "b", "2": "d"},
        ["results: 2 duplicate keys as JSON text; the last value kept, as the original"],
    )
    assert compact({1: "a", 2: "b"}) == ({"1": "a", "2": "b"}, [])


def test_extended_precision_is_narrowed_with_a_warning() -> None:
    value, warnings = compact(
        {"x": np.longdouble(1.5), "z": np.clongdouble(1 + 2j), "c": np.complex128(1 + 2j)}
    )
    complex_record = {"real": 1.0, "imag": 2.0, "_type": "complex"}
    assert value == {"x": 1.5, "z": complex_record, "c": complex_record}
    assert warnings == [
        f"results.x: {np.dtype(np.longdouble)} narrowed to 64-bit floats",
        f"results.z: {np.dtype(np.clongdouble)} narrowed to 64-bit floats",
    ]


class TolistFails:
    def tolist(self) -> list[int]:
        raise RuntimeError("no")


@dataclasses.dataclass
class Point:
    x: int


def test_string_records_say_why() -> None:
    broken = Point(1)
    del broken.x  # reading the field raises while converting
    value, warnings = compact({"o": object(), "t": TolistFails(), "p": broken, "r": range(2)})
    assert value["r"] == {
        "value": "range(0, 2)",
        "type": "range",
        "module": "builtins",
        "_serialization_note": "converted_to_string",
    }
    assert value["t"]["type"] == "TolistFails" and value["p"]["type"] == "Point"
    assert warnings == [
        "results.o: object written as its string",
        "results.t: TolistFails written as its string (tolist() raised RuntimeError)",
        "results.p: Point written as its string (AttributeError while converting it)",
        "results.r: range written as its string",
    ]


# -- the exact walker's document, and the arguments --------------------------------

SURROGATE = "\ud800"  # orjson refuses it: the whole document goes the exact way


def nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("indent", [None, 2, 3])
def test_the_exact_walker_lays_out_every_indent_as_the_stdlib_does(indent: int | None) -> None:
    value = {"a": [1, {"b": None}], "s": SURROGATE}
    # ensure_ascii: the only way json writes a lone surrogate in bytes
    expected = json.dumps(value, indent=indent, separators=None if indent else (",", ":"))
    assert encode_results(value, indent=indent).data == expected.encode() + b"\n"
    # and an odd width on the fast path too (orjson indents by 2 only)
    assert encode_results([1, [2]], indent=3).data == b"[\n   1,\n   [\n      2\n   ]\n]\n"


def test_max_bytes_is_inclusive_on_the_exact_path() -> None:
    value = {"a": list(range(20)), "s": SURROGATE}
    data = encode_results(value).data
    assert encode_results(value, max_bytes=len(data)).data == data
    smaller = encode_results(value, max_bytes=len(data) - 1)
    assert (
        orjson.loads(smaller.data)["_error"]
        == f"document larger than {len(data) - 1} bytes (max_bytes)"
    )
    assert smaller.warnings == [
        f"results: document larger than max_bytes={len(data) - 1} (at least {len(data)} bytes); "
        "written as a _serialization_failed record"
    ]


def test_nesting_past_a_thousand_levels_is_written_compact_with_a_warning() -> None:
    # indentation would grow with the square of the depth
    opening = "".join(" " * 2 * i + "[\n" for i in range(1000))
    closing = "\n".join(" " * 2 * i + "]" for i in reversed(range(1000)))
    indented = f"{opening}{' ' * 2000}0\n{closing}\n"
    assert encode_results(nested(1000)) == (indented.encode(), [])
    deep = encode_results(nested(1001))
    assert deep.data == b"[" * 1001 + b"0" + b"]" * 1001 + b"\n"
    assert deep.warnings == ["results: nesting 1001 levels deep; written without indentation"]
    # compact was asked for: nothing to say
    assert encode_results(nested(1001), indent=None) == (deep.data, [])


def test_make_json_serializable_honours_the_bound_on_the_exact_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # nesting beyond the fast path's depth, met first, sends it the exact way
    # before the fast path has counted the long string
    value = [nested(300), "x" * 5000]
    assert make_json_serializable(value) == value
    monkeypatch.setattr(results, "MAX_BYTES", 1000)
    record = make_json_serializable(value)
    assert record["_serialization_failed"] is True
    assert record["_error"] == "document larger than 1000 bytes (max_bytes)"


class Liar:
    """Even ``isinstance`` fails on it: only the last-resort record can be written."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        raise RuntimeError("who am I")


def test_a_value_nothing_can_classify_gives_the_failed_record_naming_it() -> None:
    value = {"x": Liar()}
    expected = {
        "_serialization_failed": True,
        "_original_type": "dict",
        "_error": "who am I",
        "_string_representation": str(value),
    }
    for indent in (2, None):
        encoded = encode_results(value, indent=indent)
        assert orjson.loads(encoded.data) == expected
        assert encoded.data.endswith(b"}\n")
        assert encoded.warnings == ["results: could not be serialized (RuntimeError: who am I)"]
    assert make_json_serializable(value) == expected


@pytest.mark.parametrize(
    ("indent", "name"), [(1.5, "float"), ("2", "str"), (True, "bool"), ([2], "list")]
)
def test_a_bad_indent_is_refused_naming_its_type(indent: Any, name: str) -> None:
    with pytest.raises(ps.ConfigTypeError, match=rf"^indent must be an int or None, not {name}$"):
        encode_results([1], indent=indent)


@pytest.mark.parametrize(("max_bytes", "name"), [(10.0, "float"), ("10", "str"), (False, "bool")])
def test_a_bad_max_bytes_is_refused_naming_its_type(max_bytes: Any, name: str) -> None:
    with pytest.raises(
        ps.ConfigTypeError, match=rf"^max_bytes must be an int or None, not {name}$"
    ):
        encode_results([1], max_bytes=max_bytes)


def test_invalid_json_is_refused_at_the_depth_every_orjson_parses() -> None:
    # NaN is not JSON; 250 levels are within what orjson always parses
    with pytest.raises(orjson.JSONDecodeError):
        decode_results("[" * 250 + "NaN" + "]" * 250)


@pytest.mark.parametrize("word", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize(
    "document",
    [
        "[" * 300 + "{word}" + "]" * 300,  # deeper than orjson's fast path is trusted
        "[" * 1500 + "{word}" + "]" * 1500,  # deeper than orjson parses: iterative
        '{{"big": 1' + "0" * 30 + ', "x": {word}}}',  # beyond 64 bits: exact
    ],
    ids=["deep", "deeper-than-orjson", "big-int"],
)
def test_nan_and_infinity_are_refused_by_every_parser(document: str, word: str) -> None:
    # Not JSON (RFC 8259): the exact parsers refuse what orjson refuses.
    with pytest.raises(ValueError):
        decode_results(document.format(word=word))


# -- the conversion policy, continued ---------------------------------------------


class TaggedSet(set[int]):
    """A frame-like set: ``to_dict`` and ``index``."""

    index = None

    def to_dict(self) -> dict[str, int]:
        return {"tag": len(self)}


class TaggedPath(type(Path())):  # type: ignore[misc]
    index = None

    def to_dict(self) -> dict[str, str]:
        return {"path": self.name}


def test_to_dict_with_index_comes_before_sets_and_paths_as_in_the_original() -> None:
    assert compact({"s": TaggedSet({1, 2}), "p": TaggedPath("a/b")}) == (
        {"s": {"tag": 2}, "p": {"path": "b"}},
        [],
    )


class Meta(type):
    @property
    def __module__(cls) -> str:  # type: ignore[override]
        raise AttributeError("no module")


class NoModule(metaclass=Meta):
    def __str__(self) -> str:
        return "nm"


class HostileMeta(type):
    @property
    def __module__(cls) -> str:  # type: ignore[override]
        raise RuntimeError("hostile")


class HostileModule(metaclass=HostileMeta):
    def __str__(self) -> str:
        return "hm"


def test_a_string_record_of_a_class_without_a_module_says_unknown() -> None:
    value, _ = compact({"n": NoModule(), "h": HostileModule()})
    assert value == {
        "n": {
            "value": "nm",
            "type": "NoModule",
            "module": "unknown",
            "_serialization_note": "converted_to_string",
        },
        # a class that cannot say its module may carry credentials: its type name only
        "h": {
            "value": "HostileModule",
            "type": "HostileModule",
            "module": "unknown",
            "_serialization_note": "converted_to_string",
            "_note": "may carry credentials: only its type is written",
        },
    }


def test_a_credential_key_is_its_type_name_with_a_warning() -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    assert compact({fs: 1}) == (
        {"MemoryFileSystem": 1},
        ["results: 1 key of type MemoryFileSystem written as string"],
    )


def test_results_are_converted_without_numpy_imported(tmp_path: Path) -> None:
    # numpy values can only exist once numpy is imported: nothing asks for it before
    script = (
        "import sys, pathlib\n"
        "from pyexec_store.results import encode_results\n"
        "enc = encode_results({'s': {1}, 'c': 1j}, indent=None)\n"
        "assert 'numpy' not in sys.modules, 'numpy imported'\n"
        "sys.stdout.write(enc.data.decode())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == {
        "s": {"items": [1], "_type": "set"},
        "c": {"real": 0.0, "imag": 1.0, "_type": "complex"},
    }


def test_a_document_past_max_bytes_is_not_built_on_the_exact_path() -> None:
    # nesting beyond the fast path, met first: the exact walker measures the rest
    value = [nested(300), [list(range(100)) for _ in range(200)]]
    size = len(encode_results(value).data)
    warning = encode_results(value, max_bytes=100).warnings[0]
    # "at least N bytes": N is where the walk stopped, not the size of a finished document
    found = int(warning.split("(at least ")[1].split(" ")[0])
    assert 100 < found < size // 2


# -- the iterative parser: documents deeper than the recursion limit ---------------

#: Deeper than orjson parses (1024) and than the recursion limit the tests set.
DEEP = 3000
LEAF = '{"leaf": [1, -2.5e3, "s\\u00e9", true, false, null, {}, [], {"a" : 1}]}'


@pytest.fixture(autouse=False)
def recursion_limit_2000() -> Iterator[None]:
    """The stdlib's default order of magnitude, whatever an earlier test or library set."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(2000)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def deep_text(depth: int, leaf: str = LEAF) -> str:
    """Objects and lists alternating ``depth`` times around ``leaf``, with whitespace."""
    parts = [leaf]
    for i in range(depth):
        parts = ['{ "k" :', *parts, f', "n": {i}}}'] if i % 2 else ["[ ", *parts, f" , {i}]"]
    return "".join(parts)


@pytest.mark.usefixtures("recursion_limit_2000")
def test_documents_deeper_than_the_recursion_limit_parse_exactly() -> None:
    for data in (deep_text(DEEP), deep_text(DEEP).encode()):
        value = decode_results(data)
        # Walk down level by level (== would recurse as deep as the document).
        for i in reversed(range(DEEP)):
            if i % 2:
                assert isinstance(value, dict) and list(value) == ["k", "n"]
                assert value["n"] == i
                value = value["k"]
            else:
                assert isinstance(value, list) and len(value) == 2 and value[1] == i
                value = value[0]
        assert value == {"leaf": [1, -2500.0, "sé", True, False, None, {}, [], {"a": 1}]}


@pytest.mark.parametrize(
    ("leaf", "message"),
    [
        ('{"a" 1}', "Expecting ':' delimiter"),
        ("{a: 1}", "Expecting property name enclosed in double quotes"),
        ('{"a": 1,}', "Expecting property name enclosed in double quotes"),
        ("[1 2]", "Expecting ',' delimiter or ']'"),
        ('{"a": 1 "b": 2}', "Expecting ',' delimiter or '}'"),
        ("[nul]", "Expecting value"),
        ("[1] 2", "Expecting ',' delimiter"),
    ],
)
@pytest.mark.usefixtures("recursion_limit_2000")
def test_invalid_documents_deeper_than_the_recursion_limit_are_refused(
    leaf: str, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        decode_results(deep_text(DEEP, leaf))


def test_a_deep_invalid_document_is_refused_where_it_is_whichever_parser_reads_it() -> None:
    # With a high recursion limit the stdlib parses what orjson gave up on; its
    # error is still an orjson.JSONDecodeError, and says where, not "depth limit".
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)
    try:
        with pytest.raises(orjson.JSONDecodeError, match="Expecting ',' delimiter"):
            decode_results(deep_text(DEEP, "[1 2]"))
    finally:
        sys.setrecursionlimit(old)


@pytest.mark.usefixtures("recursion_limit_2000")
def test_extra_data_after_a_deep_document_is_refused() -> None:
    with pytest.raises(ValueError, match="Extra data"):
        decode_results(deep_text(DEEP) + " []")

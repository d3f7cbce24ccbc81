"""Names and places (layout.py): what is refused, and what is parsed back."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

import pyexec_store as ps
from pyexec_store import layout

FOLDER = "executed_scripts/2026-01/execution_20260102_030405_a_b_0123abcd"


@pytest.mark.parametrize(
    "path",
    ["", "/abs", "a//b", "a/", "a/./b", ".", "a/../b", "..", "a\\b", "a\x00b"],
)
def test_check_relative_refuses_anything_but_a_plain_path(path: str) -> None:
    with pytest.raises(ps.PathEscapeError, match="not a plain path inside the store"):
        layout.check_relative(path)


@pytest.mark.parametrize("path", ["a", "a/b.json", "a/.hidden", "a/..b/c"])
def test_check_relative_keeps_a_plain_path(path: str) -> None:
    assert layout.check_relative(path) == path


@pytest.mark.parametrize("key", ["a\x00b", "a//b", "a/./b"])
def test_no_backend_takes_a_key_check_relative_refuses(
    key: str, memory_url: str, local_root: Path
) -> None:
    for store in (ps.open_store(memory_url), ps.open_store(local_root)):
        with pytest.raises(ps.PathEscapeError):
            store.backend.write(key, b"x")
        with pytest.raises(ps.PathEscapeError):
            store.url(key)


@pytest.mark.parametrize(
    ("name", "safe"), [(".", "_"), ("..", "__"), ("..hidden", "__hidden"), ("a.b", "a.b")]
)
def test_leading_dots_of_a_name_become_underscores(name: str, safe: str) -> None:
    assert layout.sanitize_name(name) == safe


def test_a_name_that_is_no_str_is_a_config_type_error() -> None:
    with pytest.raises(ps.ConfigTypeError) as info:
        layout.sanitize_name(b"bytes")
    assert str(info.value) == "a name must be a str, not bytes"


def test_an_execution_folder_parses_with_or_without_a_trailing_slash() -> None:
    for text in (FOLDER, FOLDER + "/"):
        parsed = layout.parse_execution_folder(text)
        assert parsed is not None
        assert (parsed.folder, parsed.name, parsed.execution_id) == (FOLDER, "a_b", "0123abcd")
        assert parsed.created_at == datetime(2026, 1, 2, 3, 4, 5).astimezone()


@pytest.mark.parametrize("tail", ["X", "X/", "XX"])
def test_a_folder_name_with_more_after_its_id_is_no_execution(tail: str) -> None:
    assert layout.parse_execution_folder(FOLDER + tail) is None


def test_attempt_numbers_start_at_one_and_a_stage_defaults_to_execution() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5)
    for bad in (0, -1, 1.0, "1"):
        with pytest.raises(ps.ConfigError, match="positive int"):
            layout.attempt_file(FOLDER, bad, "x", now)  # type: ignore[arg-type]
    assert layout.attempt_file(FOLDER, 1, "", now) == f"{FOLDER}/attempts/01_execution_030405.ipynb"
    assert layout.attempt_file(FOLDER, 1, None, now).endswith("/01_execution_030405.ipynb")


def test_an_empty_stage_names_the_notebook_execution(memory_url: str) -> None:
    store = ps.open_store(memory_url)
    ctx = store.create_execution("s")
    assert store.create_attempt_notebook(ctx, "x", stage="").name.startswith("01_execution_")


@pytest.mark.parametrize(
    "path",
    [
        "07_pre_execution_101500.ipynb",
        "attempts/07_pre_execution_101500.ipynb",
        f"{FOLDER}/attempts/07_pre_execution_101500.ipynb",
    ],
)
def test_an_attempt_name_parses_from_a_name_or_a_path(path: str) -> None:
    assert layout.parse_attempt(path) == layout.AttemptName(7, "pre_execution", "101500")


@pytest.mark.parametrize(
    "path", ["figure_03.png", "figures/figure_03.png", f"{FOLDER}/figures/figure_03.png"]
)
def test_a_figure_number_parses_from_a_name_or_a_path(path: str) -> None:
    assert layout.figure_number(path) == 3


@pytest.mark.parametrize("name", ["figures/notes.txt", "figure_x.png", "attempts/figure_1.jpg"])
def test_other_files_have_no_figure_number(name: str) -> None:
    assert layout.figure_number(name) is None

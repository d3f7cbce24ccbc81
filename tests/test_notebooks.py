"""Notebook content (notebooks.py), read back through the store."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

import pyexec_store as ps


@pytest.fixture
def store(memory_url: str) -> ps.ArtifactStore:
    return ps.open_store(memory_url)


def test_notebooks_open_with_the_python_3_kernel(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("kernel")
    for path in (store.create_attempt_notebook(ctx, "x"), store.create_final_notebook(ctx, "x")):
        metadata = store.load_notebook(path).metadata
        assert metadata["kernelspec"] == {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        assert metadata["language_info"] == {"name": "python"}


def test_a_stage_is_one_line_of_escaped_text(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("stage")
    path = store.create_attempt_notebook(ctx, "x", stage="fix\nthe *bug*\x00")
    header = store.load_notebook(path).cells[0].source
    assert "**Stage:** fix the \\*bug\\* \n" in header


def test_a_result_without_a_truth_value_is_a_result(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("na")
    nb = store.load_notebook(store.create_final_notebook(ctx, "x", results=pd.NA))
    assert any(c.source.startswith("## Execution Results") for c in nb.cells)


def test_a_figure_outside_the_execution_is_linked_by_its_name(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("fig")
    path = store.create_final_notebook(
        ctx, "x", figure_paths=["/elsewhere/plots/my plot.png", "figures/figure_01.png"]
    )
    figures = store.load_notebook(path).cells[-1].source
    assert figures == (
        "## Generated Figures\n\n"
        "### Figure 1\n![Figure 1](my%20plot.png)\n\n"
        "### Figure 2\n![Figure 2](figures/figure_01.png)\n\n"
    )


def stored_notebooks(store: ps.ArtifactStore, code: str) -> list[bytes]:
    ctx = store.create_execution("layout")
    return [
        store.create_attempt_notebook(ctx, code).read_bytes(),
        store.create_final_notebook(ctx, code, results={"a": 1}).read_bytes(),
    ]


def test_a_notebook_is_utf8_json_with_sorted_keys_indented_by_two(
    store: ps.ArtifactStore,
) -> None:
    for data in stored_notebooks(store, "print('é ✓')"):
        # laid out again from its parsed value, independently: the same bytes
        expected = json.dumps(json.loads(data), indent=2, sort_keys=True, ensure_ascii=False)
        assert data == expected.encode() + b"\n"
        assert "print('é ✓')".encode() in data  # UTF-8, not escaped


def test_a_notebook_with_a_lone_surrogate_has_the_same_layout_escaped(
    store: ps.ArtifactStore,
) -> None:
    for data in stored_notebooks(store, "x = '\ud800é'"):
        assert data.isascii()
        assert json.dumps(json.loads(data), indent=2, sort_keys=True).encode() + b"\n" == data
        assert b"x = '\\ud800\\u00e9'" in data


CONTEXT_CELL = (
    "# Load execution context\nimport json\nwith open({!r}) as f:\n    context = json.load(f)"
)


def test_the_context_cell_loads_context_json_relative_to_the_notebook(
    store: ps.ArtifactStore,
) -> None:
    ctx = store.create_execution("ctx")
    # no context.json yet: no cell to load it
    attempt = store.load_notebook(store.create_attempt_notebook(ctx, "x = 1"))
    assert [c.source for c in attempt.cells[1:]] == ["x = 1"]
    final = store.load_notebook(store.create_final_notebook(ctx, "x = 1"))
    assert [c.source for c in final.cells[1:]] == ["x = 1"]
    store.save_context(ctx, {"user": "u"})
    attempt = store.load_notebook(store.create_attempt_notebook(ctx, "x = 1"))
    final = store.load_notebook(store.create_final_notebook(ctx, "x = 1"))
    # attempts live one folder down, in attempts/
    assert [c.source for c in attempt.cells[1:]] == [
        CONTEXT_CELL.format("../context.json"),
        "x = 1",
    ]
    assert [c.source for c in final.cells[1:]] == [CONTEXT_CELL.format("context.json"), "x = 1"]
    assert [c.cell_type for c in final.cells] == ["markdown", "code", "code"]


def test_cell_ids_are_eight_hex_digits_and_distinct(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("ids")
    store.save_context(ctx, {})
    nb = store.load_notebook(store.create_final_notebook(ctx, "x", results={"a": 1}))
    ids = [c.id for c in nb.cells]
    assert len(ids) == 5 and len(set(ids)) == 5
    assert all(re.fullmatch(r"[0-9a-f]{8}", i) for i in ids)

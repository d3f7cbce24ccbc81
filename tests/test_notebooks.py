"""Notebook content (notebooks.py), read back through the store."""

from __future__ import annotations

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

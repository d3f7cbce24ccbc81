"""Property tests: no name or stage, however odd, writes outside the store root."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pyexec_store as ps
from pyexec_store import layout

names = st.one_of(
    st.text(max_size=200),
    st.sampled_from(
        ["..", ".", "../..", "/etc/passwd", "a/../../b", "..\\..\\x", "~", "\x00", " "]
    ),
    st.lists(st.sampled_from(["..", "/", "\\", ".", "a", "\x00", "é"]), max_size=30).map("".join),
)


@given(name=names)
def test_sanitized_names_are_single_safe_parts(name: str) -> None:
    safe = layout.sanitize_name(name)
    assert 1 <= len(safe) <= 64
    assert set(safe) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
    assert not safe.startswith(".")
    assert layout.check_relative(safe) == safe


@given(name=names, stage=names)
@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_name_or_stage_leaves_the_root(name: str, stage: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        root = base / "store"
        store = ps.open_store(root)
        ctx = store.create_execution(name)
        nb = store.create_attempt_notebook(ctx, "pass", stage=stage)
        written = [p for p in base.rglob("*") if p.is_file()]
        assert written and all(root in p.parents for p in written)
        assert nb.parent == ctx.attempts_folder
        assert ctx.folder_path.parent.parent == root / "executed_scripts"
        assert os.path.commonpath([nb, root]) == str(root)


@given(path=st.text(max_size=60))
def test_check_relative_never_accepts_an_escape(path: str) -> None:
    try:
        checked = layout.check_relative(path)
    except ps.PathEscapeError:
        return
    joined = os.path.normpath(os.path.join("/root", checked))
    assert joined.startswith("/root/")
    assert "\x00" not in checked and "\\" not in checked


@pytest.mark.parametrize("url", ["memory://prop"])
@given(name=names)
@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_memory_folders_stay_under_the_root(url: str, name: str) -> None:
    store = ps.open_store(url)
    ctx = store.create_execution(name)
    rel = store.key(ctx.folder_path)
    assert rel.startswith("executed_scripts/") and rel.count("/") == 2
    assert layout.parse_execution_folder(rel) is not None


texts = st.text(alphabet=st.characters(codec=None), max_size=300)  # lone surrogates included


@given(code=texts, stage=texts, error=st.none() | texts, approval=st.none() | texts)
@settings(max_examples=200)
def test_attempt_notebooks_are_valid_for_any_text(
    code: str, stage: str, error: str | None, approval: str | None
) -> None:
    import nbformat

    from pyexec_store import notebooks

    nb = notebooks.attempt_notebook(7, stage, code, error_context=error, approval_context=approval)
    parsed = nbformat.reads(notebooks.to_bytes(nb).decode("utf-8"), as_version=4)
    nbformat.validate(parsed)
    assert parsed.cells[-1].source == code
    assert parsed.nbformat == 4 and parsed.nbformat_minor == notebooks.NBFORMAT[1]


@given(
    code=texts, error=st.none() | texts, results=st.none() | st.just({"a": 1}), n=st.integers(0, 3)
)
@settings(max_examples=100)
def test_final_notebooks_are_valid_for_any_text(
    code: str, error: str | None, results: dict[str, int] | None, n: int
) -> None:
    import nbformat

    from pyexec_store import notebooks

    figures = [f"/x/figures/figure_{i:02d}.png" for i in range(1, n + 1)]
    nb = notebooks.final_notebook(
        code, results=results, error_context=error, figure_paths=figures, execution_folder="/x"
    )
    parsed = nbformat.reads(notebooks.to_bytes(nb).decode("utf-8"), as_version=4)
    nbformat.validate(parsed)
    assert [c.cell_type for c in parsed.cells].count("markdown") == 1 + bool(results) + bool(n)

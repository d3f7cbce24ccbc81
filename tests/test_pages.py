"""Execution pages: one self-contained, offline HTML file per execution, safe for any content."""

from __future__ import annotations

import base64
import logging
import os
import struct
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import BUCKET, s3_options
from htmlpage import assert_self_contained, parse

import pyexec_store as ps
from pyexec_store import rendering

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(1)>"
CODE = """import numpy as np
signal = np.sin(np.linspace(0, 6.28, 100))  # marker-code-line
results = {"peak": float(signal.max())}
"""


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid PNG image of one colour (a browser decodes and draws it)."""
    row = b"\x00" + bytes(rgb) * width
    raw = zlib.compress(row * height)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


RED, BLUE = png(40, 20, (200, 30, 30)), png(30, 30, (30, 30, 200))
RESULTS = {
    "readings": 168,
    "label": "sensor T-101",
    "daily": {"mean": {"Mon": 20.84, "Tue": 21.0}, "max": {"Mon": 24.43, "Tue": 24.17}},
    "anomalies": ["2026-11-01 07:00", "2026-11-01 18:00"],
    "big": 2**70,
}


@pytest.fixture(params=["local", "memory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ps.ArtifactStore]:
    if request.param == "local":
        yield ps.open_store(tmp_path / "store")
    elif request.param == "memory":
        memory_url = request.getfixturevalue("memory_url")
        yield ps.open_store(memory_url)
    else:
        s3 = request.getfixturevalue("s3")
        yield ps.open_store(f"s3://{BUCKET}/pages", **s3_options(s3))


def successful(store: ps.ArtifactStore, name: str = "sensor analysis ü") -> Any:
    ctx = store.create_execution(name)
    store.save_context(ctx, {"task": "summarise the sensor signal", "threshold": 3.5})
    store.create_attempt_notebook(ctx, "x = 1  # first try", stage="code_generation")
    store.create_attempt_notebook(
        ctx, CODE, stage="execution", approval_context="approved: read-only analysis"
    )
    store.save_results(ctx, RESULTS)
    figures = store.save_figures(ctx, [RED, BLUE])
    store.create_final_notebook(ctx, CODE, results=RESULTS, figure_paths=figures)
    store.finish_execution(ctx, success=True)
    return ctx


def page_of(store: ps.ArtifactStore, path: Any) -> bytes:
    return store.backend.read(store.key(path))


def test_page_of_a_successful_execution(store: ps.ArtifactStore) -> None:
    ctx = successful(store)
    path = store.render_page(ctx)
    assert store.key(path) == f"{store.key(ctx.folder_path)}/execution.html"
    page = parse(page_of(store, path))
    assert_self_contained(page)
    header = page.texts["notebook"]
    assert "sensor analysis ü" in page.text and "success" in page.text
    assert ctx.metadata["execution_id"] in page.text
    assert "# marker-code-line" in header  # the code, highlighted
    assert page.all("span")  # pygments marks tokens
    # The values of results.json, as data (a table per frame), where the cell loads them.
    for value in ("168", "sensor T-101", "20.84", "24.17", "2026-11-01 18:00", str(2**70)):
        assert value in header
    assert [a for a in page.all("table") if a.get("class") == "data"]
    assert sorted(page.images()) == sorted([RED, BLUE])  # every figure, byte for byte
    attempts = page.texts["attempts"]
    assert len(page.all("details")) >= 2
    assert "code_generation" in attempts and "first try" in attempts
    assert "approved: read-only analysis" in attempts
    assert "summarise the sensor signal" in page.texts["context"]
    files = page.texts["files"]
    for name in ("context.json", "results.json", "figures/figure_02.png", "notebook.ipynb"):
        assert name in files
    meta = orjson.loads(store.backend.read(f"{store.key(ctx.folder_path)}/execution_metadata.json"))
    assert meta["page"] == "execution.html" and meta["status"] == "success"


def test_page_of_a_failed_execution(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("failing")
    store.create_attempt_notebook(ctx, "1 / 0", stage="execution")
    trace = 'Traceback (most recent call last):\n  File "x.py", line 1\nZeroDivisionError: division'
    store.create_attempt_notebook(ctx, "1 / 0", stage="execution_failed", error_context=trace)
    store.create_final_notebook(ctx, "1 / 0", error_context=trace)
    store.finish_execution(ctx, success=False, error="ZeroDivisionError: division by zero")
    page = parse(page_of(store, store.render_page(ctx)))
    assert_self_contained(page)
    assert {"class": "status s-failed"} in page.all("span")
    assert "ZeroDivisionError: division by zero" in page.text  # the header's error
    assert "Failed Execution" in page.texts["notebook"]
    assert page.texts["attempts"].count("ZeroDivisionError: division") >= 1
    assert "error" in page.texts["attempts"]  # the failed attempt is marked
    assert page.images() == []


def test_page_of_a_resumed_execution(store: ps.ArtifactStore) -> None:
    first = store.create_execution("resumed")
    store.create_attempt_notebook(first, "a = 1", stage="execution")
    store.save_figure(first, RED)
    # Another process picks it up later: numbering continues after what is stored.
    again = store.open_execution(first.folder_path.name)
    store.create_attempt_notebook(again, "b = 2", stage="retry")
    (blue,) = store.save_figures(again, [BLUE])
    red = again.folder_path / "figures" / "figure_01.png"
    store.create_final_notebook(again, "b = 2", figure_paths=[red, blue])
    store.finish_execution(again, success=True)
    page = parse(page_of(store, store.render_page(store.open_execution(first.folder_path))))
    assert_self_contained(page)
    assert sorted(page.images()) == sorted([RED, BLUE])
    assert "#1" in page.texts["attempts"] and "#2" in page.texts["attempts"]
    assert "retry" in page.texts["attempts"]


def test_hostile_content_is_shown_as_text_and_never_runs(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution(HOSTILE)
    store.save_context(ctx, {HOSTILE: HOSTILE})
    store.create_attempt_notebook(
        ctx, f"x = '{HOSTILE}'", stage=HOSTILE, error_context=HOSTILE, approval_context=HOSTILE
    )
    store.save_results(ctx, {"evil": HOSTILE, HOSTILE: [HOSTILE, {"k": HOSTILE}]})
    store.create_final_notebook(ctx, f"# {HOSTILE}", results={"evil": 1}, error_context=HOSTILE)
    store.finish_execution(ctx, success=False, error=HOSTILE)
    page = parse(page_of(store, store.render_page(ctx)))
    assert_self_contained(page)
    assert page.all("img") == []  # no figure: every <img> would be an injected one
    assert page.text.count(HOSTILE) >= 6  # name, error, results, context, code ...
    assert HOSTILE in page.texts["notebook"] and HOSTILE in page.texts["context"]


def test_a_tampered_notebook_cannot_inject_into_the_page(store: ps.ArtifactStore) -> None:
    """Notebooks are read back as data: raw HTML, links, outputs and metadata from a
    notebook edited by hand (or by a kernel) are shown as text or left out."""
    ctx = store.create_execution("tampered")
    final = store.create_final_notebook(ctx, "x = 1")
    notebook = orjson.loads(page_of(store, final))
    markdown = "\n\n".join(
        [
            HOSTILE,
            "[click](javascript:alert(1)) ![remote](http://example.com/x.png)",
            "```mermaid\n<script>alert(2)</script>\n```",
            '<a href="http://example.com">x</a> $<b>x</b>$',
        ]
    )
    notebook["cells"].append(
        {
            "cell_type": "markdown",
            "id": 'x"><script>',
            "metadata": {"tags": ['"><b>']},
            "source": markdown,
        }
    )
    notebook["cells"].append({"cell_type": "raw", "id": "r1", "metadata": {}, "source": HOSTILE})
    notebook["cells"][1]["outputs"] = [
        {"output_type": "display_data", "metadata": {}, "data": {"text/html": HOSTILE}},
        {"output_type": "display_data", "metadata": {}, "data": {"application/javascript": "1"}},
        {"output_type": "display_data", "metadata": {}, "data": {"image/svg+xml": HOSTILE}},
        {
            "output_type": "execute_result",
            "metadata": {},
            "execution_count": 1,
            "data": {"text/plain": HOSTILE, "text/html": HOSTILE},
        },
        {"output_type": "stream", "name": "stdout", "text": HOSTILE},
        {"output_type": "error", "ename": HOSTILE, "evalue": HOSTILE, "traceback": [HOSTILE]},
    ]
    store.backend.write(store.key(final), orjson.dumps(notebook))
    page = parse(page_of(store, store.render_page(ctx)))
    assert_self_contained(page)
    assert page.all("img") == []
    assert all((a.get("href") or "#").startswith("#") for a in page.all("a"))
    text = page.texts["notebook"]
    assert text.count(HOSTILE) >= 5 and "<script>alert(2)</script>" in text
    assert "output not shown on this page" in text


def test_an_execution_still_running_has_a_page_too(store: ps.ArtifactStore) -> None:
    ctx = store.create_execution("running")
    store.save_results(ctx, {"partial": [1, 2, 3]})
    store.save_figure(ctx, RED)
    page = parse(page_of(store, store.render_page(ctx)))
    assert_self_contained(page)
    assert "No final notebook yet" in page.texts["notebook"]
    assert "running" in page.text
    assert page.images() == [RED]  # shown in a section of its own
    assert "partial" in page.texts["results"]


def test_finish_execution_renders_when_asked(tmp_path: Path) -> None:
    plain = ps.open_store(tmp_path / "a")
    assert plain.render_pages is False
    ctx = successful(plain)
    assert "execution.html" not in plain.backend.find(plain.key(ctx.folder_path))
    assert "page" not in ctx.metadata

    ctx = plain.create_execution("asked")
    plain.finish_execution(ctx, success=True, render=True)
    assert ctx.metadata["page"] == "execution.html"
    assert (ctx.folder_path / "execution.html").is_file()

    rendering_store = ps.open_store(tmp_path / "b", render_pages=True)
    ctx = successful(rendering_store)
    assert ctx.metadata["page"] == "execution.html"
    assert sorted(parse((ctx.folder_path / "execution.html").read_bytes()).images()) == sorted(
        [RED, BLUE]
    )
    ctx = rendering_store.create_execution("not this one")
    rendering_store.finish_execution(ctx, render=False)
    assert "page" not in ctx.metadata


def test_render_pages_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYEXEC_STORE_RENDER_PAGES", "true")
    assert ps.open_store(tmp_path).render_pages is True
    assert ps.open_store(tmp_path, render_pages=False).render_pages is False
    monkeypatch.setenv("PYEXEC_STORE_RENDER_PAGES", "maybe")
    with pytest.raises(ps.ConfigError, match="PYEXEC_STORE_RENDER_PAGES"):
        ps.open_store(tmp_path)
    monkeypatch.delenv("PYEXEC_STORE_RENDER_PAGES")
    with pytest.raises(ps.ConfigTypeError):
        ps.open_store(tmp_path, render_pages="yes")  # type: ignore[arg-type]


def test_a_page_that_fails_to_render_never_loses_the_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store = ps.open_store(tmp_path)
    ctx = store.create_execution("broken page")

    def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("template exploded")

    monkeypatch.setattr(rendering, "write_page", broken)
    with caplog.at_level(logging.WARNING, logger="pyexec_store"):
        store.finish_execution(ctx, success=True, render=True)
    assert "template exploded" in caplog.text
    meta = orjson.loads((ctx.folder_path / "execution_metadata.json").read_bytes())
    assert meta["status"] == "success" and "page" not in meta
    with pytest.raises(RuntimeError, match="template exploded"):
        store.render_page(ctx)  # asked for explicitly: the failure is the caller's


def test_without_nbconvert_the_error_names_the_extra(tmp_path: Path) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules["nbconvert"] = None  # as if the html extra were not installed
        import pyexec_store as ps
        store = ps.open_store({str(tmp_path)!r})
        ctx = store.create_execution("no extra")
        for attempt in (lambda: store.render_page(ctx),
                        lambda: store.finish_execution(ctx, render=True),
                        lambda: ps.open_store({str(tmp_path)!r}, render_pages=True)):
            try:
                attempt()
            except ps.MissingDependencyError as exc:
                print("refused:", exc)
        print("status:", store.open_execution(ctx.folder_path).metadata["status"])
        store.finish_execution(ctx)  # rendering is optional: finishing works
        print("status:", store.open_execution(ctx.folder_path).metadata["status"])
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.count("refused: execution pages need nbconvert: pip install 'pyexec-store[html]'")
    assert out.count("refused:") == 3
    assert "status: running\nstatus: success" in out  # refused before any I/O


@pytest.mark.parametrize(("policy", "mode"), [("group", 0o664), ("private", 0o600)])
def test_a_page_is_written_with_the_store_policy(tmp_path: Path, policy: str, mode: int) -> None:
    store = ps.open_store(tmp_path, permissions=policy)
    ctx = successful(store)
    page = store.render_page(ctx)
    assert os.stat(page).st_mode & 0o777 == mode  # as every file the store writes
    assert os.stat(ctx.folder_path / "results.json").st_mode & 0o777 == mode


def test_large_results_are_cut_and_say_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pyexec_store.pageresults import results_html

    deep: Any = 1
    for _ in range(10):
        deep = {"level": deep}
    results = {
        "rows": list(range(1000)),
        "records": [{"a": i, "b": -i} for i in range(500)],
        "text": "y" * 6000,
        "deep": deep,
        "wide": {f"k{i}": i for i in range(300)},
    }
    text = parse(results_html(results)).text
    assert "… 900 more items not shown" in text
    assert "… 300 more rows not shown" in text
    assert "(1000 more characters)" in text
    assert "nested deeper than shown here" in text
    assert "… 100 more keys not shown" in text

    monkeypatch.setattr(rendering, "MAX_RESULTS_BYTES", 100)
    store = ps.open_store(tmp_path)
    ctx = store.create_execution("big")
    store.save_results(ctx, results)
    store.create_final_notebook(ctx, "x = 1", results=results)
    page = parse(page_of(store, store.render_page(ctx)))
    assert "too large to show here" in page.texts["results"]
    assert "900 more items" not in page.text


def test_a_hand_edited_notebook_shows_its_text_and_only_images_that_are_images(
    tmp_path: Path,
) -> None:
    # nbformat allows a text as a list of strings; a page shows an image output only
    # if its base64 decodes to the type it claims, and skips what is not a cell or output.
    store = ps.open_store(tmp_path)
    ctx = store.create_execution("edited")
    final = store.create_final_notebook(ctx, "x = 1")
    notebook = orjson.loads(page_of(store, final))
    jpeg = b"\xff\xd8\xff\xe0" + bytes(64)
    jpeg64 = base64.b64encode(jpeg).decode()

    def shown(mime: str, data: object, **more: object) -> dict[str, Any]:
        return {"output_type": "display_data", "metadata": {}, "data": {mime: data, **more}}

    notebook["cells"] += [
        "not a cell",
        {"cell_type": "markdown", "source": ["# Joined ", "from parts", 3]},
        {"cell_type": "markdown", "source": "![ghost](attachment:ghost.png) after"},
        {
            "cell_type": "code",
            "source": 987654321987,  # neither a string nor a list: no code
            "execution_count": 1,
            "outputs": [
                "not an output",
                {"output_type": "update_display_data", "data": {"text/plain": "hidden-update"}},
                shown("image/png", base64.b64encode(RED).decode()),
                shown("image/jpeg", [jpeg64[:10], "\n", jpeg64[10:]]),  # lines, as Jupyter writes
                shown("image/png", "!!not base64!!", **{"text/plain": "fallback-text"}),
                shown("image/jpeg", base64.b64encode(RED).decode()),  # a PNG claiming JPEG
            ],
        },
    ]
    store.backend.write(store.key(final), orjson.dumps(notebook))
    page = parse(page_of(store, store.render_page(ctx)))
    assert_self_contained(page)
    text = page.text  # the notebook is the only place these texts can be
    assert "Joined from parts" in text
    assert "[ghost: not stored with this execution]" in text and "after" in text
    assert "hidden-update" not in text and "not an output" not in text
    assert "not a cell" not in text and "987654321987" not in text
    assert page.images() == [RED]
    sources = [a.get("src") or "" for a in page.all("img")]
    assert [s for s in sources if s.startswith("data:image/jpeg;base64,")] == [
        f"data:image/jpeg;base64,{jpeg64}"
    ]
    assert "fallback-text" in text
    assert "[output not shown on this page: image/jpeg]" in text


def refuse_reading(
    store: ps.ArtifactStore, monkeypatch: pytest.MonkeyPatch, name: str, reason: str
) -> None:
    """The store's storage refuses to read ``name`` in any folder, as a denied object would."""
    read_many = store.backend.read_many

    def refusing(keys: Any) -> dict[str, Any]:
        got = read_many(keys)
        for key in got:
            if key.endswith(f"/{name}"):
                got[key] = ps.StoragePermissionError("read", store.backend.uri(key), None, reason)
        return got

    monkeypatch.setattr(store.backend, "read_many", refusing)


@pytest.mark.parametrize("name", ["results.json", "context.json", "figures/figure_01.png"])
def test_a_file_the_storage_refuses_to_read_fails_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # A missing file leaves a gap on the page; a refused read is the caller's to know.
    store = ps.open_store(tmp_path)
    ctx = successful(store)
    refuse_reading(store, monkeypatch, name, "Access Denied")
    with pytest.raises(ps.StoragePermissionError, match=f"could not read .*{name}: Access Denied"):
        store.render_page(ctx)
    assert "execution.html" not in store.backend.find(store.key(ctx.folder_path))


def test_files_that_are_not_json_leave_the_rest_of_the_page(tmp_path: Path) -> None:
    store = ps.open_store(tmp_path)
    ctx = successful(store)
    folder = store.key(ctx.folder_path)
    store.backend.write(f"{folder}/context.json", b"{'task': truncated")
    store.backend.write(f"{folder}/results.json", b'{"peak": 1.0,')
    page = parse(page_of(store, store.render_page(ctx)))
    assert_self_contained(page)
    assert "results.json could not be read: not valid JSON" in page.texts["results"]
    assert "summarise the sensor signal" not in page.text  # the context is not shown
    assert sorted(page.images()) == sorted([RED, BLUE])  # the rest is
    assert "# marker-code-line" in page.texts["notebook"]


def test_a_page_is_refused_for_a_folder_that_holds_no_execution(tmp_path: Path) -> None:
    store = ps.open_store(tmp_path)
    ctx = store.create_execution("deleted")
    store.delete_execution(ctx)
    with pytest.raises(ps.StorageNotFoundError, match="nothing stored there"):
        store.render_page(ctx)  # a context kept after its execution was deleted
    elsewhere = ps.PythonExecutionContext(folder_path=store.root / "executed_scripts" / "notes")
    with pytest.raises(ps.StorageNotFoundError, match="not an execution folder"):
        store.render_page(elsewhere)
    assert store.backend.find("executed_scripts") == []


def test_a_broken_html_extra_names_what_is_missing(tmp_path: Path) -> None:
    # nbconvert installed but a library the page needs is not: refused, naming both.
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules["mistune"] = None
        import pyexec_store as ps
        store = ps.open_store({str(tmp_path)!r})
        ctx = store.create_execution("broken extra")
        try:
            store.render_page(ctx)
        except ps.MissingDependencyError as exc:
            print("refused:", exc)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.startswith("refused: execution pages need nbconvert (")
    assert "mistune" in out and out.rstrip().endswith(": pip install 'pyexec-store[html]'")

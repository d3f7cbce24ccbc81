"""The store contract, written once and run on every backend: local, memory, S3."""

from __future__ import annotations

import base64
import re
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import nbformat
import orjson
import pytest
from conftest import BUCKET, s3_options

import pyexec_store as ps
from pyexec_store import layout

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
FOLDER = re.compile(
    r"^executed_scripts/\d{4}-\d{2}/execution_\d{8}_\d{6}_(?P<name>[A-Za-z0-9._-]+)_[0-9a-f]{8}$"
)


class StoreContract:
    """Behaviour every backend must have. Subclasses provide the ``store`` fixture."""

    @pytest.fixture
    def store(self) -> ps.ArtifactStore:
        raise NotImplementedError

    @staticmethod
    def read(store: ps.ArtifactStore, path: Any) -> bytes:
        return store.backend.read(store.key(path))

    @staticmethod
    def files(store: ps.ArtifactStore, ctx: ps.PythonExecutionContext) -> set[str]:
        return set(store.backend.find(store.key(ctx.folder_path)))

    def expected_link(self, store: ps.ArtifactStore, key: str) -> str:
        """The link a backend's default strategy gives ``key``, built independently."""
        raise NotImplementedError

    def check_link(self, store: ps.ArtifactStore, link: str, key: str) -> None:
        assert link == self.expected_link(store, key)

    def execution_link_key(self, folder: str, page: bool = False) -> str:
        """The key an execution's link names (``ExecutionInfo.url``): its folder by default."""
        return folder

    def test_create_execution_claims_a_folder(self, store: ps.ArtifactStore) -> None:
        ctx = store.create_execution("sensor analysis")
        rel = store.key(ctx.folder_path)
        match = FOLDER.match(rel)
        assert match and match["name"] == "sensor_analysis"
        meta = orjson.loads(self.read(store, ctx.folder_path / "execution_metadata.json"))
        # The month folder is the month of the claim's own recorded time (local time).
        assert rel.split("/")[1] == f"{datetime.fromisoformat(meta['created_at']):%Y-%m}"
        assert meta["status"] == "running"
        assert meta["name"] == "sensor analysis"  # as given; the folder holds its safe form
        assert rel.endswith(meta["execution_id"])
        assert ctx.is_initialized
        assert store.key(ctx.attempts_folder) == rel + "/attempts"

    def test_two_executions_never_share_a_folder(self, store: ps.ArtifactStore) -> None:
        folders = {str(store.create_execution("same").folder_path) for _ in range(5)}
        assert len(folders) == 5

    def test_claim_is_exclusive(self, store: ps.ArtifactStore) -> None:
        ctx = store.create_execution("x")
        rel = store.key(ctx.folder_path) + "/execution_metadata.json"
        with pytest.raises(ps.StorageExistsError):
            store.backend.write(rel, b"{}", exclusive=True)
        assert orjson.loads(store.backend.read(rel))["status"] == "running"

    def test_full_lifecycle_layout(self, store: ps.ArtifactStore) -> None:
        ctx = store.create_execution("full")
        store.save_context(ctx, {"k": "v"})
        for i in range(3):
            store.create_attempt_notebook(ctx, f"x = {i}", stage="execution")
        store.save_results(ctx, {"mean": 1.5})
        figures = store.save_figures(ctx, [PNG, PNG + b"2"])
        store.create_final_notebook(ctx, "x = 3", results={"mean": 1.5}, figure_paths=figures)
        store.finish_execution(ctx, success=True)
        names = self.files(store, ctx)
        attempts = sorted(n for n in names if n.startswith("attempts/"))
        assert [a[:12] for a in attempts] == [f"attempts/0{i}_" for i in (1, 2, 3)]
        assert all(re.fullmatch(r"attempts/\d\d_execution_\d{6}\.ipynb", a) for a in attempts)
        assert names - set(attempts) == {
            "execution_metadata.json",
            "context.json",
            "results.json",
            "figures/figure_01.png",
            "figures/figure_02.png",
            "notebook.ipynb",
        }
        assert self.read(store, figures[1]) == PNG + b"2"
        meta = orjson.loads(self.read(store, ctx.folder_path / "execution_metadata.json"))
        assert meta["status"] == "success" and meta["finished_at"]

    def test_attempt_notebook_cells(self, store: ps.ArtifactStore) -> None:
        ctx = store.create_execution("cells")
        store.save_context(ctx, {"a": 1})
        path = store.create_attempt_notebook(
            ctx, "print('hi')", "pre_execution", error_context="Boom", approval_context="Approve?"
        )
        nb = nbformat.reads(self.read(store, path).decode(), as_version=4)
        nbformat.validate(nb)
        header, context_cell, code = nb.cells
        assert header.cell_type == "markdown"
        assert header.source.startswith(
            "# Python Executor - Attempt #1\n\n**Stage:** pre_execution\n"
        )
        # Approval and error texts are fenced: generated text cannot hide the rest.
        assert "```text\nApprove?\n```\n\n## Error Context\n```text\nBoom\n```\n\n" in header.source
        assert (
            "open('../context.json')" in context_cell.source and "json.load" in context_cell.source
        )
        assert code.source == "print('hi')"
        attempt = ctx.notebook_attempts[0]
        assert attempt.attempt_number == 1 and attempt.stage == "pre_execution"
        assert attempt.notebook_type is ps.NotebookType.EXECUTION_ATTEMPT
        assert attempt.error_context == "Boom"
        self.check_link(store, attempt.notebook_link, store.key(path))

    def test_notebook_without_context_has_no_context_cell(self, store: ps.ArtifactStore) -> None:
        ctx = store.create_execution("nocontext")
        path = store.create_attempt_notebook(ctx, "1 + 1")
        nb = nbformat.reads(self.read(store, path).decode(), as_version=4)
        assert [c.cell_type for c in nb.cells] == ["markdown", "code"]

    def test_final_notebook_sections(self, store: ps.ArtifactStore) -> None:
        ctx = store.create_execution("final")
        store.save_context(ctx, {})
        figures = [store.save_figure(ctx, PNG), store.save_figure(ctx, PNG)]
        path = store.create_final_notebook(
            ctx, "y = 2", results={"y": 2}, error_context=None, figure_paths=figures
        )
        nb = nbformat.reads(self.read(store, path).decode(), as_version=4)
        nbformat.validate(nb)
        sources = [c.source for c in nb.cells]
        assert sources[0].startswith("# Python Executor - Successful Execution")
        assert "open('context.json')" in sources[1]
        assert sources[2] == "y = 2"
        assert sources[3] == "## Execution Results\n\nResults saved to `results.json`"
        assert "json.load(f)" in sources[4]
        assert sources[5] == (
            "## Generated Figures\n\n"
            "### Figure 1\n![Figure 1](figures/figure_01.png)\n\n"
            "### Figure 2\n![Figure 2](figures/figure_02.png)\n\n"
        )

    def test_failed_final_notebook(self, store: ps.ArtifactStore) -> None:
        ctx = store.create_execution("fail")
        path = store.create_final_notebook(ctx, "1/0", error_context="ZeroDivisionError")
        nb = nbformat.reads(self.read(store, path).decode(), as_version=4)
        assert nb.cells[0].source.startswith(
            "# Python Executor - Failed Execution\n\n## Error Context\n```text\nZeroDivisionError"
        )
        assert len(nb.cells) == 2  # header and code: no context, results or figures

    def test_concurrent_attempts_never_share_a_number(self, store: ps.ArtifactStore) -> None:
        ctx = store.create_execution("threads")
        barrier = threading.Barrier(6)
        errors: list[BaseException] = []

        def work() -> None:
            try:
                barrier.wait()
                for _ in range(4):
                    store.create_attempt_notebook(ctx, "pass")
                    store.save_figure(ctx, PNG)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        numbers = sorted(a.attempt_number for a in ctx.notebook_attempts)
        assert numbers == list(range(1, 25))
        names = self.files(store, ctx)
        assert len([n for n in names if n.startswith("attempts/")]) == 24
        assert len([n for n in names if n.startswith("figures/")]) == 24

    def test_open_execution_resumes_numbering(self, store: ps.ArtifactStore) -> None:
        ctx = store.create_execution("resume")
        store.save_context(ctx, {"n": 1})
        store.create_attempt_notebook(ctx, "a", stage="code_generation")
        store.create_attempt_notebook(ctx, "b")
        store.save_figure(ctx, PNG)
        again = store.open_execution(ctx.folder_path)
        assert again.folder_path == ctx.folder_path
        assert again.get_next_attempt_number() == 3
        assert [a.stage for a in again.notebook_attempts] == ["code_generation", "execution"]
        # Each attempt's time is stored with it and read back exactly.
        assert [a.created_at for a in again.notebook_attempts] == [
            a.created_at for a in ctx.notebook_attempts
        ]
        assert again.context_file_path is not None
        assert store.load_context(again) == {"n": 1}
        third = store.create_attempt_notebook(again, "c")
        assert third.name.startswith("03_execution_")
        assert store.save_figure(again, PNG).name == "figure_02.png"

    def test_open_execution_of_a_non_execution(self, store: ps.ArtifactStore) -> None:
        with pytest.raises(ps.ConfigError):
            store.open_execution(store.backend.upath("executed_scripts/2020-01/not_one"))
        with pytest.raises(ps.StorageNotFoundError):
            store.open_execution(
                store.backend.upath("executed_scripts/2020-01/execution_20200101_000000_x_0123abcd")
            )

    def test_context_and_results_round_trip(self, store: ps.ArtifactStore) -> None:
        ctx = store.create_execution("rt")
        data = {"task": "ünïcode ✓", "n": [1, 2, 3], "nested": {"a": None}}
        path = store.save_context(ctx, data)
        assert path == ctx.context_file_path
        assert store.load_context(ctx) == data
        store.save_results(ctx, {"x": [1.5, 2.5], "ok": True})
        assert store.load_results(ctx) == {"x": [1.5, 2.5], "ok": True}

    def test_list_executions_filters(self, store: ps.ArtifactStore) -> None:
        a = store.create_execution("alpha")
        b = store.create_execution("beta")
        c = store.create_execution("alpha")
        store.finish_execution(a, success=True)
        store.finish_execution(b, success=False)
        rows = store.list_executions()
        assert [r.path for r in rows] == [a.folder_path, b.folder_path, c.folder_path]
        assert [r.status for r in rows] == ["success", "failed", "running"]
        assert [r.path for r in store.list_executions(name="alpha")] == [
            a.folder_path,
            c.folder_path,
        ]
        assert [r.path for r in store.list_executions(name="al*", status="running")] == [
            c.folder_path
        ]
        assert store.list_executions(status="failed")[0].name == "beta"
        assert len(store.list_executions(since="1h")) == 3
        assert store.list_executions(since=datetime.now() + timedelta(hours=1)) == []
        self.check_link(store, rows[0].url, self.execution_link_key(store.key(a.folder_path)))
        spaced = store.create_execution("sensor analysis")  # stored as sensor_analysis
        assert [r.path for r in store.list_executions(name="sensor analysis")] == [
            spaced.folder_path
        ]

    def test_list_executions_on_an_empty_store(self, store: ps.ArtifactStore) -> None:
        assert store.list_executions() == []

    def test_render_page(self, store: ps.ArtifactStore) -> None:
        ctx = store.create_execution("page")
        store.save_results(ctx, {"answer": 42})
        figure = store.save_figure(ctx, PNG)
        store.create_final_notebook(ctx, "x = 1", results={"answer": 42}, figure_paths=[figure])
        store.finish_execution(ctx, success=True, render=True)
        key = store.key(ctx.folder_path)
        page = self.read(store, ctx.folder_path / "execution.html").decode()
        assert "<!DOCTYPE html>" in page and "answer" in page
        assert base64.b64encode(PNG).decode() in page  # the figure, embedded
        assert self.files(store, ctx) >= {"execution.html", "execution_metadata.json"}
        (row,) = store.list_executions(name="page")
        assert ctx.metadata["page"] == "execution.html"
        self.check_link(store, row.url, self.execution_link_key(key, page=True))
        again = store.render_page(ctx.folder_path.name)  # by name, as archive tools do
        assert again == store.backend.upath(f"{key}/execution.html")

    def test_paths_cannot_escape(self, store: ps.ArtifactStore) -> None:
        with pytest.raises(ps.PathEscapeError):
            store.url("../../etc/passwd")
        with pytest.raises(ps.PathEscapeError):
            store.backend.write("executed_scripts/../../x", b"no")
        with pytest.raises(ps.PathEscapeError):
            store.backend.uri("/etc/passwd")

    def test_bad_figure_is_refused_before_writing(self, store: ps.ArtifactStore) -> None:
        ctx = store.create_execution("fig")
        with pytest.raises(ps.ConfigError):
            store.save_figure(ctx, b"GIF89a not a png")
        with pytest.raises(TypeError):
            store.save_figure(ctx, 42)
        assert not any(n.startswith("figures/") for n in self.files(store, ctx))

    def test_matplotlib_figure(self, store: ps.ArtifactStore) -> None:
        import matplotlib.pyplot as plt

        ctx = store.create_execution("mpl")
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3])
        path = store.save_figure(ctx, fig)
        plt.close(fig)
        assert self.read(store, path).startswith(b"\x89PNG")

    def test_a_taken_folder_is_never_overwritten(
        self, store: ps.ArtifactStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The same second and the same id twice: the second claim must find the
        # folder taken, leave it alone, and take a fresh id.
        now = layout.local_now()
        ids = iter(["aaaaaaaa", "aaaaaaaa", "bbbbbbbb"])
        monkeypatch.setattr(layout, "local_now", lambda: now)
        monkeypatch.setattr(layout, "new_execution_id", lambda: next(ids))
        first = store.create_execution("twin")
        key = store.key(first.folder_path) + "/execution_metadata.json"
        before = store.backend.read(key)
        second = store.create_execution("twin")
        assert store.key(second.folder_path).endswith("_bbbbbbbb")
        assert store.backend.read(key) == before

    def test_resumed_numbering_needs_no_retry(
        self, store: ps.ArtifactStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        now = layout.local_now()
        monkeypatch.setattr(layout, "local_now", lambda: now)  # every name in the same second
        ctx = store.create_execution("resume")
        store.create_attempt_notebook(ctx, "a")
        store.create_attempt_notebook(ctx, "b")
        store.save_figure(ctx, PNG)
        again = store.open_execution(ctx.folder_path)
        writes: list[int] = []
        real = store.backend.write_many
        monkeypatch.setattr(
            store.backend, "write_many", lambda items: writes.append(len(items)) or real(items)
        )
        assert store.create_attempt_notebook(again, "c").name.startswith("03_")
        assert store.save_figure(again, PNG).name == "figure_02.png"
        assert writes == [1, 1]  # each written at the first try: numbering read what was stored

    def test_failed_execution_metadata(self, store: ps.ArtifactStore) -> None:
        ctx = store.create_execution("fails")
        store.create_attempt_notebook(ctx, "1/0")
        store.create_attempt_notebook(ctx, "1/0", stage="retry")
        store.finish_execution(ctx, success=False, error="ZeroDivisionError: division by zero")
        meta = orjson.loads(self.read(store, ctx.folder_path / "execution_metadata.json"))
        assert (meta["status"], meta["attempts"]) == ("failed", 2)
        assert meta["error"] == "ZeroDivisionError: division by zero"

    def test_uninitialised_context_is_refused(self, store: ps.ArtifactStore) -> None:
        with pytest.raises(ps.ConfigError):
            store.save_results(ps.PythonExecutionContext(), {"a": 1})
        with pytest.raises(TypeError):
            store.save_results("not a context", {"a": 1})  # type: ignore[arg-type]


class TestLocal(StoreContract):
    @pytest.fixture
    def store(self, local_root: Path) -> ps.ArtifactStore:
        self.root = local_root
        return ps.open_store(local_root)

    def expected_link(self, store: ps.ArtifactStore, key: str) -> str:
        return "file://" + str(self.root.resolve()) + "/" + key

    def test_paths_are_pathlib(self, store: ps.ArtifactStore) -> None:
        ctx = store.create_execution("p")
        assert isinstance(ctx.folder_path, Path)
        assert ctx.folder_path.is_dir() and ctx.attempts_folder.is_dir()
        assert ctx.folder_url == ctx.folder_path.as_uri()

    def test_no_temporary_files_left(self, store: ps.ArtifactStore) -> None:
        ctx = store.create_execution("tmp")
        store.save_results(ctx, {"a": 1})
        store.create_attempt_notebook(ctx, "x")
        leftovers = [p for p in Path(store.backend.root).rglob("*") if p.name.startswith(".")]
        assert leftovers == []


class TestMemory(StoreContract):
    @pytest.fixture
    def store(self, memory_url: str) -> ps.ArtifactStore:
        self.url = memory_url
        return ps.open_store(memory_url)

    def expected_link(self, store: ps.ArtifactStore, key: str) -> str:
        return "memory:///" + self.url.removeprefix("memory://") + "/" + key


class TestS3(StoreContract):
    @pytest.fixture
    def store(self, s3: Any) -> ps.ArtifactStore:
        self.endpoint = s3.endpoint_url
        return ps.open_store(f"s3://{BUCKET}/archive", **s3_options(s3))

    def check_link(self, store: ps.ArtifactStore, link: str, key: str) -> None:
        if key.endswith((".ipynb", ".json", ".png", ".html")):  # objects: presigned GET links
            parts = urlsplit(link)
            query = parse_qs(parts.query)
            assert f"{parts.scheme}://{parts.netloc}" == self.endpoint
            assert unquote(parts.path) == f"/{BUCKET}/archive/{key}"
            assert query["X-Amz-Expires"] == ["3600"] and query["X-Amz-Signature"]
        else:  # a prefix is no object: it is named, not signed
            assert link == f"s3://{BUCKET}/archive/{key}"

    def execution_link_key(self, folder: str, page: bool = False) -> str:
        # A prefix is no object: an execution's link is its final notebook's (its page's,
        # once it has one).
        return f"{folder}/{'execution.html' if page else 'notebook.ipynb'}"

    def test_url_is_presigned(self, store: ps.ArtifactStore) -> None:
        ctx = store.create_execution("u")
        key = store.key(ctx.folder_path)
        meta_link = store.url(ctx.folder_path / "execution_metadata.json")
        self.check_link(store, meta_link, key + "/execution_metadata.json")
        assert "X-Amz-Expires=120&" in store.url(ctx.folder_path / "x.json", expires=120)
        assert store.urls.folder_url(key) == f"s3://{BUCKET}/archive/{key}"
        self.check_link(store, ctx.folder_url, f"{key}/notebook.ipynb")


def test_layout_names_match_what_is_parsed() -> None:
    ex = layout.new_execution("a b", datetime(2026, 1, 2, 3, 4, 5).astimezone())
    parsed = layout.parse_execution_folder(ex.folder)
    assert parsed == ex
    assert ex.folder.startswith("executed_scripts/2026-01/execution_20260102_030405_a_b_")


class ResumedWritersContract:
    """Two writers resuming one execution: figures never collide or leave orphans."""

    def test_two_resumed_contexts_share_figure_numbers_safely(
        self, store: ps.ArtifactStore
    ) -> None:
        ctx = store.create_execution("two")
        first = store.open_execution(ctx.folder_path)
        second = store.open_execution(ctx.folder_path)
        a = store.save_figures(first, [PNG + b"a1", PNG + b"a2"])
        b = store.save_figures(second, [PNG + b"b1", PNG + b"b2"])
        assert [p.name for p in a] == ["figure_01.png", "figure_02.png"]
        assert [p.name for p in b] == ["figure_03.png", "figure_04.png"]
        stored = {p.name: store.backend.read(store.key(p)) for p in a + b}
        assert stored == {
            "figure_01.png": PNG + b"a1",
            "figure_02.png": PNG + b"a2",
            "figure_03.png": PNG + b"b1",
            "figure_04.png": PNG + b"b2",
        }
        names = StoreContract.files(store, ctx)
        assert sorted(n for n in names if n.startswith("figures/")) == [
            f"figures/figure_0{i}.png" for i in range(1, 5)
        ]

    def test_a_bad_stage_does_not_use_up_a_number(self, store: ps.ArtifactStore) -> None:
        ctx = store.create_execution("stage")
        with pytest.raises(TypeError):
            store.create_attempt_notebook(ctx, "x", stage=5)  # type: ignore[arg-type]
        assert store.create_attempt_notebook(ctx, "x").name.startswith("01_")


class TestLocalResumed(ResumedWritersContract):
    @pytest.fixture
    def store(self, local_root: Path) -> ps.ArtifactStore:
        return ps.open_store(local_root)


class TestMemoryResumed(ResumedWritersContract):
    @pytest.fixture
    def store(self, memory_url: str) -> ps.ArtifactStore:
        return ps.open_store(memory_url)


class TestS3Resumed(ResumedWritersContract):
    @pytest.fixture
    def store(self, s3: Any) -> ps.ArtifactStore:
        return ps.open_store(f"s3://{BUCKET}/archive", **s3_options(s3))

"""pyexec_store.archive: exact, verified, resumable; on moto's S3 server, local disk, memory."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from archivetools import (
    assert_archived,
    folder,
    manifest_of,
    record,
    record_legacy,
    tree,
)
from conftest import BUCKET, S3_KEY, S3_SECRET, s3_options

import pyexec_store as ps
from pyexec_store.archive import Archiver, ProgressEvent, parse_manifest, watch


def s3_store(s3: Any, prefix: str = "archive") -> ps.ArtifactStore:
    return ps.open_store(f"s3://{BUCKET}/{prefix}", **s3_options(s3))


def client(s3: Any) -> Any:
    return boto3.client("s3", endpoint_url=s3.endpoint_url)


def test_local_to_s3_is_exact_with_content_types_and_manifests_last(
    s3: Any, local_root: Path
) -> None:
    src, dst = ps.open_store(local_root), s3_store(s3)
    done = [record(src, "ok"), record(src, "bad", success=False)]
    running = record(src, "still", finish=False)
    legacy = record_legacy(src)
    s3.take_requests()

    report = ps.archive(src, dst)

    assert (report.archived, report.skipped, report.ok) == (3, 1, True)
    keys = [folder(src, c) for c in done] + [legacy]
    for key in keys:
        assert_archived(src, dst, key)
    assert dst.backend.find(folder(src, running)) == []  # a running execution is not archived
    skipped = next(e for e in report.executions if e.action == "skipped")
    assert (skipped.status, skipped.reason) == ("running", "still running")
    # Each file is one PUT with its type and SHA-256; the manifest is the last PUT of its folder.
    requests = s3.take_requests()
    puts = [r for r in requests if r.method == "PUT" and "/executed_scripts/" in r.path]
    for key in keys:
        mine = [r for r in puts if f"/{key}/" in r.path]
        assert mine[-1].path.endswith("/archive_manifest.json")
        assert len(mine) == len(tree(src, key)) + 1
    types = {r.path.rsplit(".", 1)[-1]: r.headers["content-type"] for r in puts}
    assert types == {
        "json": "application/json",
        "ipynb": "application/x-ipynb+json",
        "png": "image/png",
    }
    files = [r for r in puts if not r.path.endswith("/archive_manifest.json")]
    assert all(r.headers.get("x-amz-checksum-sha256") for r in files)
    # moto stores the checksum it is sent without checking it: every copy is read back.
    assert {k for e in report.executions for k in e.verified_by} == {"read back"}
    head = client(s3).head_object(Bucket=BUCKET, Key=f"archive/{keys[0]}/figures/figure_01.png")
    assert head["ContentType"] == "image/png"
    manifest = manifest_of(dst, keys[0])
    assert manifest["source"] == local_root.resolve().as_uri()
    assert (
        manifest["status"] == "success"
        and manifest["execution_id"] == done[0].metadata["execution_id"]
    )


def test_a_second_run_sends_no_put_and_reads_one_manifest_per_execution(
    s3: Any, local_root: Path
) -> None:
    src, dst = ps.open_store(local_root), s3_store(s3)
    for i in range(5):
        record(src, f"run{i}")
    s3.take_requests()
    first = ps.archive(src, dst)
    sent = s3.take_requests()
    files = sum(len(e.copied) for e in first.executions)
    # Per execution: its manifest (404), a listing, a PUT and a read-back GET per file,
    # the manifest; once per run: the checksum probe (a PUT moto accepts, so a DELETE).
    assert len(sent) == 5 * 3 + 2 * files + 2
    second = ps.archive(src, dst)
    again = s3.take_requests()
    assert (second.archived, second.skipped) == (0, 5)
    assert [r.method for r in again] == ["GET"] * 5
    assert all(r.path.endswith("/archive_manifest.json") for r in again)


def test_an_execution_changed_since_it_was_archived_is_archived_again(
    s3: Any, local_root: Path
) -> None:
    src, dst = ps.open_store(local_root), s3_store(s3)
    ctx = record(src, "resumed")
    ps.archive(src, dst)
    again = src.open_execution(ctx.folder_path)
    src.create_attempt_notebook(again, "x = 3", stage="retry")
    src.finish_execution(again, success=True)
    report = ps.archive(src, dst)
    (outcome,) = report.executions
    assert outcome.action == "archived"
    assert outcome.copied[0].startswith("attempts/03_retry_")
    assert outcome.copied[1:] == ["execution_metadata.json"]
    assert_archived(src, dst, folder(src, ctx))


def test_a_file_changed_with_the_same_size_and_time_close_to_the_listing_is_hashed(
    memory_url: str, tmp_path: Path
) -> None:
    # Times within two seconds of the listing prove nothing: the content decides.
    src, dst = ps.open_store(tmp_path / "src"), ps.open_store(memory_url)
    ctx = record(src, "racy")
    ps.archive(src, dst)
    path = Path(ctx.folder_path) / "results.json"
    stat = path.stat()
    path.write_bytes(path.read_bytes().replace(b"2", b"3"))
    import os

    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same time
    report = ps.archive(src, dst)
    assert report.executions[0].copied == ["results.json"]
    assert_archived(src, dst, folder(src, ctx))


def test_a_running_execution_is_skipped_then_archived_once_it_finishes(
    s3: Any, local_root: Path
) -> None:
    src, dst = ps.open_store(local_root), s3_store(s3)
    ctx = record(src, "long", finish=False)
    assert ps.archive(src, dst).archived == 0
    included = ps.archive(src, dst, include_running=True)
    assert included.archived == 1  # on request, a snapshot of it so far
    src.finish_execution(ctx, success=True)
    report = ps.archive(src, dst)
    assert report.archived == 1 and report.executions[0].copied == ["execution_metadata.json"]
    assert_archived(src, dst, folder(src, ctx))
    assert manifest_of(dst, folder(src, ctx))["status"] == "success"


def test_verify_finds_and_repairs_every_damaged_object(s3: Any, local_root: Path) -> None:
    src, dst = ps.open_store(local_root), s3_store(s3)
    ctx = record(src, "damaged")
    key = folder(src, ctx)
    ps.archive(src, dst)
    c = client(s3)
    good = dst.backend.read(f"{key}/results.json")
    c.put_object(Bucket=BUCKET, Key=f"archive/{key}/results.json", Body=good[::-1])  # same size
    c.delete_object(Bucket=BUCKET, Key=f"archive/{key}/figures/figure_02.png")
    c.put_object(Bucket=BUCKET, Key=f"archive/{key}/stray.bin", Body=b"?")
    assert ps.archive(src, dst).archived == 0  # an ordinary run trusts the manifest

    report = ps.archive(src, dst, verify=True)

    (outcome,) = report.executions
    assert outcome.action == "repaired"
    assert sorted(outcome.problems) == [
        "figures/figure_02.png: missing",
        "results.json: SHA-256 differs",
        "stray.bin: not a file of the execution",
    ]
    assert outcome.copied == ["figures/figure_02.png", "results.json"]
    assert outcome.removed == ["stray.bin"]
    assert_archived(src, dst, key)
    assert ps.archive(src, dst, verify=True).executions[0].reason == "up to date"


def test_without_a_valid_manifest_an_execution_is_not_archived(s3: Any, local_root: Path) -> None:
    src, dst = ps.open_store(local_root), s3_store(s3)
    ctx = record(src, "manifest")
    key = folder(src, ctx)
    ps.archive(src, dst)
    dst.backend.write(f"{key}/archive_manifest.json", b'{"format": "something else"}')
    s3.take_requests()
    report = ps.archive(src, dst)
    (outcome,) = report.executions
    assert outcome.action == "repaired" and "archive_manifest.json: invalid" in outcome.reason
    assert outcome.copied == []  # every file was there, whole: checked, not sent again
    assert_archived(src, dst, key)


def test_delete_source_deletes_only_checked_finished_executions(s3: Any, local_root: Path) -> None:
    src, dst = ps.open_store(local_root), s3_store(s3)
    gone = [record(src, "a"), record(src, "b")]
    kept = record(src, "running", finish=False)
    before = {folder(src, c): tree(src, folder(src, c)) for c in gone}
    ps.archive(src, dst)
    # An archived copy damaged since: checked before the source goes, and repaired.
    key = folder(src, gone[0])
    client(s3).put_object(Bucket=BUCKET, Key=f"archive/{key}/context.json", Body=b"{}")
    report = ps.archive(src, dst, delete_source=True, include_running=True)
    deleted = {e.folder for e in report.deleted}
    assert deleted == set(before)
    assert [r.execution_id for r in src.list_executions()] == [kept.metadata["execution_id"]]
    running = next(e for e in report.executions if e.status == "running")
    assert "source kept: still running" in running.reason
    for key, files in before.items():
        assert tree(dst, key) == files


def test_dry_run_reports_sizes_and_changes_nothing(s3: Any, local_root: Path) -> None:
    src, dst = ps.open_store(local_root), s3_store(s3)
    ctx = record(src, "dry")
    key = folder(src, ctx)
    files = tree(src, key)
    s3.take_requests()
    report = ps.archive(src, dst, dry_run=True, delete_source=True)
    (outcome,) = report.executions
    assert outcome.action == "would archive"
    assert outcome.copied == sorted(files) and outcome.bytes == sum(map(len, files.values()))
    assert outcome.source_deleted and outcome.source_bytes == outcome.bytes
    assert all(r.method == "GET" for r in s3.take_requests())  # a manifest, a listing
    assert tree(src, key) == files and dst.backend.find(key) == []
    assert "would archive 1" in report.summary()


def test_s3_to_local_restores_the_same_executions(
    s3: Any, local_root: Path, tmp_path: Path
) -> None:
    src, archive_store = ps.open_store(local_root), s3_store(s3)
    ctx = record(src, "restore")
    key = folder(src, ctx)
    ps.archive(src, archive_store)
    restored = ps.open_store(tmp_path / "restored")
    report = ps.archive(archive_store, restored)
    assert report.archived == 1
    assert tree(restored, key) == tree(src, key)
    assert manifest_of(restored, key)["source"] == f"s3://{BUCKET}/archive"
    again = restored.open_execution(ctx.metadata["execution_id"])
    assert restored.load_results(again) == {"x": 2, "name": "restore"}
    assert ps.archive(archive_store, restored).archived == 0


def test_any_backend_on_the_contract_alone_can_be_archived_to_and_from(
    memory_url: str,
) -> None:
    from dictbackend import DictBackend

    from pyexec_store.registry import BACKENDS

    if "dict" not in BACKENDS:
        ps.register_backend("dict", DictBackend)
    src = ps.open_store(memory_url)
    ctx = record(src, "contract")
    dst = ps.open_store(f"dict://archive-{uuid.uuid4().hex[:8]}")
    assert ps.archive(src, dst).archived == 1
    assert_archived(src, dst, folder(src, ctx))
    back = ps.open_store(f"{memory_url}-back")
    assert ps.archive(dst, back).archived == 1
    assert tree(back, folder(src, ctx)) == tree(src, folder(src, ctx))


def test_progress_reports_executions_and_bytes(memory_url: str, tmp_path: Path) -> None:
    src = ps.open_store(tmp_path / "src")
    record(src, "one")
    record(src, "two")
    events: list[ProgressEvent] = []
    report = ps.archive(src, memory_url, progress=events.append)
    planned = [e for e in events if e.kind == "planned"]
    assert len(planned) == 1 and planned[0].executions == 2
    assert sum(e.bytes for e in events if e.kind == "bytes") == report.bytes == planned[0].bytes
    assert len([e for e in events if e.kind == "execution"]) == 2


def test_an_unreachable_archive_fails_each_execution_and_says_why(local_root: Path) -> None:
    src = ps.open_store(local_root)
    record(src, "offline")
    dead = ps.open_store(
        f"s3://{BUCKET}/x", endpoint_url="http://127.0.0.1:9", key=S3_KEY, secret=S3_SECRET
    )
    started = time.monotonic()
    report = ps.archive(src, dead)
    assert time.monotonic() - started < 30
    (failed,) = report.failed
    assert "127.0.0.1:9" in failed.reason and S3_SECRET not in failed.reason


def test_watch_archives_an_execution_as_it_finishes(memory_url: str, tmp_path: Path) -> None:
    src, dst = ps.open_store(tmp_path / "src"), ps.open_store(memory_url)
    stop = threading.Event()
    passes: list[ps.ArchiveReport | None] = []
    thread = threading.Thread(
        target=watch,
        args=(src, dst),
        kwargs={"interval": 0.2, "stop": stop, "on_pass": lambda r, e: passes.append(r)},
    )
    thread.start()
    try:
        ctx = record(src, "live", finish=False)
        time.sleep(0.6)
        assert dst.backend.find(folder(src, ctx)) == []
        src.finish_execution(ctx, success=True)
        deadline = time.monotonic() + 10
        while "archive_manifest.json" not in dst.backend.find(folder(src, ctx)):
            assert time.monotonic() < deadline, "not archived within 10 s"
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert_archived(src, dst, folder(src, ctx))
    archived = [r for r in passes if r and r.archived]
    assert len(archived) == 1  # once, and never again


def test_bad_arguments_fail_before_any_io(memory_url: str) -> None:
    with pytest.raises(ps.ConfigError, match="same store"):
        ps.archive(memory_url, memory_url)
    with pytest.raises(ps.ConfigError, match="unknown status"):
        ps.archive(memory_url, f"{memory_url}-2", status="done")
    with pytest.raises(ps.ConfigError):
        ps.archive(memory_url, f"{memory_url}-2", since="yesterday-ish")
    with pytest.raises(ps.ConfigError, match="concurrency"):
        ps.archive(memory_url, f"{memory_url}-2", concurrency=0)
    with pytest.raises(ps.ConfigTypeError, match="concurrency must be an int, not float"):
        ps.archive(memory_url, f"{memory_url}-2", concurrency=2.5)  # type: ignore[arg-type]


def test_the_manifest_holds_no_credential(s3: Any, local_root: Path) -> None:
    src = s3_store(s3, "agents")
    record(src, "creds")
    dst = ps.open_store(local_root)
    ps.archive(src, dst)
    (row,) = dst.list_executions()
    text = json.dumps(manifest_of(dst, dst.key(row.path)))
    assert S3_SECRET not in text and S3_KEY not in text
    digest = hashlib.sha256(tree(dst, dst.key(row.path))["results.json"]).hexdigest()
    assert digest in text


def edited(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], bytes]:
    """A manifest edit: ``change`` applied to the document, which is written back as JSON."""

    def edit(doc: dict[str, Any]) -> bytes:
        change(doc)
        return json.dumps(doc).encode()

    return edit


def first_file(field: str, value: object) -> Callable[[dict[str, Any]], bytes]:
    return edited(lambda doc: doc["files"][0].__setitem__(field, value))


DAMAGED_MANIFESTS: list[tuple[Callable[[dict[str, Any]], bytes], str]] = [
    (lambda doc: json.dumps(doc).encode()[:-20], "not JSON: "),
    (edited(lambda doc: doc.update(version=2)), "manifest version 2, expected 1"),
    (
        edited(lambda doc: doc.update(folder="executed_scripts/elsewhere")),
        "it describes 'executed_scripts/elsewhere', not this folder",
    ),
    (
        edited(lambda doc: doc.update(status=None)),
        "execution_id, status, source and archived_at must be strings",
    ),
    (edited(lambda doc: doc.update(archived_at="last week")), "archived_at 'last week' is not a"),
    (edited(lambda doc: doc.update(listed_at=True)), "listed_at must be a number"),
    (edited(lambda doc: doc.update(listed_at="1700000000")), "listed_at must be a number"),
    (edited(lambda doc: doc.update(files={"results.json": 1})), "files must be a list"),
    (edited(lambda doc: doc["files"].append(doc["files"][0])), "a file is listed twice"),
    (edited(lambda doc: doc["files"].append("results.json")), "a file entry must be an object"),
    (first_file("path", "archive_manifest.json"), "bad file path 'archive_manifest.json'"),
    (first_file("path", 7), "bad file path 7"),
    (first_file("path", "../../secrets.txt"), "leaves the execution folder"),
    (first_file("size", -1), ".ipynb: bad size -1"),
    (first_file("size", True), ".ipynb: bad size True"),
    (first_file("sha256", "A" * 64), ".ipynb: bad sha256 'AAAA"),  # lower-case hex only
    (first_file("sha256", None), ".ipynb: bad sha256 None"),
    (first_file("mtime", "yesterday"), ".ipynb: bad mtime 'yesterday'"),
]


@pytest.mark.parametrize(("damage", "why"), DAMAGED_MANIFESTS)
def test_a_damaged_or_hand_edited_manifest_is_refused_naming_the_fault(
    memory_url: str, tmp_path: Path, damage: Callable[[dict[str, Any]], bytes], why: str
) -> None:
    # A manifest is trusted only as the archiver writes it: anything else means
    # "not archived", and the next run checks every file and writes it anew.
    src, dst = ps.open_store(tmp_path / "src"), ps.open_store(memory_url)
    key = folder(src, record(src, "edited"))
    ps.archive(src, dst)
    dst.backend.write(f"{key}/archive_manifest.json", damage(manifest_of(dst, key)))

    (outcome,) = ps.archive(src, dst).executions

    assert outcome.action == "repaired"
    assert outcome.reason.startswith("archive_manifest.json: invalid (")
    assert why in outcome.reason  # the fault, and for a file entry its path
    assert outcome.copied == []  # the files themselves were whole
    assert_archived(src, dst, key)


def test_an_archiver_remembers_its_manifests_between_runs(memory_url: str, tmp_path: Path) -> None:
    # What watch relies on: a second run of the same Archiver reads no manifest,
    # so it does not see one damaged since; a fresh run (or verify) does.
    src, dst = ps.open_store(tmp_path / "src"), ps.open_store(memory_url)
    key = folder(src, record(src, "remembered"))
    archiver = Archiver(src, dst)
    assert archiver.run().archived == 1
    dst.backend.write(f"{key}/archive_manifest.json", b"damaged")

    again = archiver.run()

    assert (again.archived, again.skipped) == (0, 1)
    assert dst.backend.read(f"{key}/archive_manifest.json") == b"damaged"
    assert ps.archive(src, dst).executions[0].action == "repaired"
    manifest = parse_manifest(dst.backend.read(f"{key}/archive_manifest.json"), key)
    assert manifest.size == sum(len(data) for data in tree(src, key).values())


def test_an_execution_whose_source_folder_cannot_be_listed_fails_alone(
    memory_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, dst = ps.open_store(tmp_path / "src"), ps.open_store(memory_url)
    good, bad = (folder(src, record(src, name)) for name in ("good", "locked"))
    listed = src.backend.find_stats

    def find_stats(key: str) -> Any:
        # The storage refuses this one folder (as a directory without read permission would).
        if key == bad:
            raise ps.StoragePermissionError("list", src.backend.uri(key), None, "Permission denied")
        return listed(key)

    monkeypatch.setattr(src.backend, "find_stats", find_stats)
    report = ps.archive(src, dst)

    (failed,) = report.failed
    assert failed.folder == bad
    assert failed.reason.startswith("could not list the source: could not list ")
    assert "Permission denied" in failed.reason
    assert dst.backend.find(bad) == []  # nothing of it written, not even a manifest
    assert report.archived == 1
    assert_archived(src, dst, good)


def test_verify_checks_archived_executions_whose_source_is_gone(
    memory_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, dst = ps.open_store(tmp_path / "src"), ps.open_store(memory_url)
    contexts = {name: record(src, name) for name in ("intact", "damaged", "unmanifested", "dark")}
    keys = {name: folder(src, ctx) for name, ctx in contexts.items()}
    assert ps.archive(src, dst).archived == 4
    for ctx in contexts.values():
        src.delete_execution(ctx)
    dst.backend.write(f"{keys['damaged']}/results.json", b"{}")
    dst.backend.delete([f"{keys['unmanifested']}/archive_manifest.json"])
    listed = dst.backend.find_stats

    def find_stats(key: str) -> Any:
        # The archive cannot be listed for this one folder: its check fails, the others go on.
        if key == keys["dark"]:
            raise ps.StoragePermissionError("list", dst.backend.uri(key), None, "Access Denied")
        return listed(key)

    monkeypatch.setattr(dst.backend, "find_stats", find_stats)
    report = ps.archive(src, dst, verify=True)

    outcomes = {e.name: e for e in report.executions}
    assert set(outcomes) == set(keys)
    assert (outcomes["intact"].action, outcomes["intact"].reason) == (
        "skipped",
        "verified (not in the source)",
    )
    assert outcomes["intact"].checked and outcomes["intact"].problems == []
    damaged = outcomes["damaged"]
    assert damaged.action == "failed" and damaged.checked
    assert damaged.reason.startswith("damaged, and the source is gone: results.json: ")
    assert outcomes["unmanifested"].reason == (
        "not archived (no valid manifest), and not in the source"
    )
    assert outcomes["dark"].action == "failed" and "Access Denied" in outcomes["dark"].reason
    assert not outcomes["dark"].checked
    assert dst.backend.read(f"{keys['damaged']}/results.json") == b"{}"  # nothing to repair from

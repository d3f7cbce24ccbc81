"""Link strategies (urls/) and how a backend turns URLs into keys: checks and shapes of links.

Presigned links are signed locally, so no S3 server is needed here: the endpoint
is never contacted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import pyexec_store as ps
from pyexec_store.urls import MAX_EXPIRES, check_expires, check_http_url
from pyexec_store.urls.file import FileUrls
from pyexec_store.urls.jupyter import JupyterUrls
from pyexec_store.urls.presigned import content_disposition, content_type

NOWHERE = "http://127.0.0.1:9"


def presigned(**options: Any) -> ps.ArtifactStore:
    options.setdefault("endpoint_url", NOWHERE)
    options.setdefault("key", "AKIDEXAMPLE")
    options.setdefault("secret", "not-a-real-secret")
    return ps.open_store("s3://bucket/runs", url_strategy="presigned", **options)


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# -- option checks ------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://user@host",
        "http://user:pw@host",
        "http://:pw@host",
        "http://host/?q=1",
        "ftp://host",
        "http://",
        "host:8088",
    ],
)
def test_check_http_url_refuses(url: str) -> None:
    with pytest.raises(ps.ConfigError, match="link_url"):
        check_http_url("link_url", url)


@pytest.mark.parametrize("url", ["http://host", "https://host:8443/base", "http://10.0.0.1:80/"])
def test_check_http_url_keeps(url: str) -> None:
    assert check_http_url("link_url", url) == url


def test_user_info_is_never_repeated() -> None:
    with pytest.raises(ps.ConfigError) as info:
        check_http_url("link_url", "http://user:hunter2@host")
    assert "hunter2" not in str(info.value) and "user name or password" in str(info.value)


@pytest.mark.parametrize("seconds", [1, 60, MAX_EXPIRES])
def test_expiry_from_one_second_to_seven_days(seconds: int) -> None:
    assert check_expires(seconds) == seconds


@pytest.mark.parametrize("seconds", [0, -1, MAX_EXPIRES + 1])
def test_expiry_beyond_the_bounds_is_refused(seconds: int) -> None:
    with pytest.raises(ps.ConfigError, match=f"url_expires={seconds}: must be from 1 to"):
        check_expires(seconds)


def test_unknown_strategy_options_name_the_strategy_and_what_it_takes() -> None:
    with pytest.raises(ps.ConfigError) as info:
        JupyterUrls.check_options({"jupyter_base": "http://h"})
    assert str(info.value) == (
        "unknown option 'jupyter_base' for url_strategy JupyterUrls; did you mean "
        "'jupyter_base_url'? (it takes: jupyter_base_url, jupyter_prefix)"
    )
    with pytest.raises(ps.ConfigError) as info:
        FileUrls.check_options({"expires": 5})
    assert str(info.value) == "unknown option 'expires' for url_strategy FileUrls (it takes none)"


# -- jupyter ------------------------------------------------------------------


def test_jupyter_links_trim_slashes_of_the_base_and_the_prefix(tmp_path: Path) -> None:
    store = ps.open_store(
        tmp_path,
        url_strategy="jupyter",
        jupyter_base_url="http://lab:8888/",
        jupyter_prefix="/work/runs/",
    )
    assert store.url("executed_scripts/2026-01/a b.ipynb") == (
        "http://lab:8888/lab/tree/work/runs/2026-01/a%20b.ipynb"
    )
    assert store.url("executed_scripts") == "http://lab:8888/lab/tree/work/runs"


def test_jupyter_links_trim_only_slashes(tmp_path: Path) -> None:
    # Names ending in other characters (here X) keep them.
    store = ps.open_store(
        tmp_path,
        url_strategy="jupyter",
        jupyter_base_url="http://lab:8888/X/",
        jupyter_prefix="/XrunsX/",
    )
    assert store.url("executed_scripts/a.ipynb") == "http://lab:8888/X/lab/tree/XrunsX/a.ipynb"


def test_options_of_the_wrong_type_are_named_with_their_type(tmp_path: Path) -> None:
    with pytest.raises(ps.ConfigTypeError, match=r"^jupyter_base_url must be a str, not int$"):
        check_http_url("jupyter_base_url", 8888)
    with pytest.raises(ps.ConfigTypeError, match=r"^jupyter_prefix must be a str, not int$"):
        ps.open_store(tmp_path, url_strategy="jupyter", jupyter_prefix=5)
    with pytest.raises(
        ps.ConfigTypeError, match=r"^url_expires must be an int number of seconds, not '60'$"
    ):
        check_expires("60")


def test_a_bad_jupyter_base_url_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(ps.ConfigError, match=r"^jupyter_base_url="):
        ps.open_store(tmp_path, url_strategy="jupyter", jupyter_base_url="lab:8888")


# -- presigned ----------------------------------------------------------------


def test_presigned_links_need_an_s3_store(tmp_path: Path) -> None:
    with pytest.raises(ps.ConfigError, match="need an S3 store, not file storage"):
        ps.open_store(tmp_path, url_strategy="presigned")


def test_presigned_links_are_path_style_and_signed_for_the_configured_region() -> None:
    store = presigned(endpoint_url="http://localhost:9", client_kwargs={"region_name": "eu-west-2"})
    url = store.url("executed_scripts/x.json")
    assert url.startswith("http://localhost:9/bucket/runs/executed_scripts/x.json?")
    assert query(url)["X-Amz-Credential"].split("/")[2] == "eu-west-2"


@pytest.mark.parametrize("bad", ["ftp://files", "http://user:pw@files", 8080])
def test_a_bad_public_endpoint_names_the_option(bad: object) -> None:
    with pytest.raises((ps.ConfigError, ps.ConfigTypeError), match=r"^public_endpoint_url"):
        presigned(public_endpoint_url=bad)


def test_presigned_links_carry_a_session_token() -> None:
    url = presigned(token="session-token-example").url("x.json")
    assert query(url)["X-Amz-Security-Token"] == "session-token-example"
    assert "X-Amz-Security-Token" not in query(presigned().url("x.json"))


def test_presigned_links_of_a_profile_use_its_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "aws_config"
    config.write_text(
        "[profile links]\n"
        "region = ap-south-1\n"
        "aws_access_key_id = AKIDPROFILE\n"
        "aws_secret_access_key = profile-secret\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    store = ps.open_store(
        "s3://bucket/runs", url_strategy="presigned", endpoint_url=NOWHERE, profile="links"
    )
    credential = query(store.url("x.json"))["X-Amz-Credential"].split("/")
    assert (credential[0], credential[2]) == ("AKIDPROFILE", "ap-south-1")


def test_presigned_links_to_aws_are_path_style_at_the_regional_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # botocore's own default there is virtual-hosted (https://bucket.s3...).
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "FSSPEC_S3_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    store = ps.open_store(
        "s3://bucket/runs",
        url_strategy="presigned",
        key="AKIDEXAMPLE",
        secret="not-a-real-secret",
        client_kwargs={"region_name": "eu-west-2"},
    )
    url = store.url("executed_scripts/2026-01/x/figures/figure_01.png")
    assert url.startswith(
        "https://s3.eu-west-2.amazonaws.com/bucket/runs/executed_scripts/2026-01/x/figures/"
        "figure_01.png?"
    )
    # The name a browser saves it as is the file's own, not its folders'.
    assert query(url)["response-content-disposition"] == 'inline; filename="figure_01.png"'
    assert query(url)["response-content-type"] == "image/png"


def test_presigned_execution_links_open_the_final_notebook_or_the_page() -> None:
    store = presigned()
    folder = "executed_scripts/2026-01/x_20260101_000000_abcd"
    base = f"/bucket/runs/{folder}"
    assert urlsplit(store.urls.execution_url(folder)).path == f"{base}/notebook.ipynb"
    assert urlsplit(store.urls.execution_url(folder, page=False)).path == f"{base}/notebook.ipynb"
    assert urlsplit(store.urls.execution_url(folder, page=True)).path == f"{base}/execution.html"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("execution.html", "text/html; charset=utf-8"),
        ("x.IPYNB", "application/x-ipynb+json"),
        ("a.b.ipynb", "application/x-ipynb+json"),
        ("results.json", "application/json"),
        ("figure_01.png", "image/png"),
        ("notes.txt", "text/plain"),
        ("notes.tar.gz", "application/x-tar"),
        # only in mimetypes' non-strict table
        ("slides.pict", "image/pict"),
        ("blob", "application/octet-stream"),
        ("png", "application/octet-stream"),  # a name, not an extension
        ("blob.no-such-type", "application/octet-stream"),
    ],
)
def test_content_type_by_extension(name: str, expected: str) -> None:
    assert content_type(name) == expected


def test_content_disposition_of_any_name() -> None:
    assert content_disposition("execution.html") == 'inline; filename="execution.html"'
    assert content_disposition('a"b\\c.txt') == (
        "inline; filename=\"a_b_c.txt\"; filename*=UTF-8''a%22b%5Cc.txt"
    )
    assert content_disposition("résumé.png") == (
        "inline; filename=\"r_sum_.png\"; filename*=UTF-8''r%C3%A9sum%C3%A9.png"
    )


def test_presigned_folder_links_name_the_prefix() -> None:
    store = presigned()
    assert store.urls.folder_url("executed_scripts/2026-01") == (
        "s3://bucket/runs/executed_scripts/2026-01"
    )


# -- keys from URLs -----------------------------------------------------------


def test_a_store_at_the_root_of_its_filesystem_takes_back_its_paths() -> None:
    store = ps.open_store("memory://")
    assert store.key("memory:///a/b.json") == "a/b.json"
    assert store.key("memory:///") == store.key("memory://") == ""
    ctx = store.create_execution("at-root")
    try:
        results = store.save_results(ctx, {"a": 1})
        assert store.key(results) == store.key(ctx.folder_path) + "/results.json"
        assert store.url(results) == store.backend.uri(store.key(results))
        assert store.open_execution(ctx.folder_path).folder_path == ctx.folder_path
    finally:
        store.delete_execution(ctx)


def test_keys_given_as_keys(memory_url: str) -> None:
    store = ps.open_store(memory_url)
    assert store.key("") == ""
    assert store.key("executed_scripts/x/") == "executed_scripts/x"
    with pytest.raises(ps.PathEscapeError, match="is not inside the store root"):
        store.key("s3://elsewhere/x")

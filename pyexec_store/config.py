"""Opening a store: the URL, the options, and where each option goes.

An option reaches the URL strategy that declares it (its ``options`` table)
or else the backend, which checks its own. Every option can also come from the
environment as ``PYEXEC_STORE_<OPTION>``; arguments win, and a bad value names
its variable.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Literal

from . import rendering
from .backends import backend_class, get_backend, split_protocol, store_url
from .errors import ConfigError, ConfigTypeError
from .registry import URL_STRATEGIES
from .store import ArtifactStore

DEFAULT_URL = "./_agent_data"
ENV_PREFIX = "PYEXEC_STORE_"
UrlStrategyName = Literal["file", "jupyter", "presigned"]
PermissionPolicy = Literal["group", "container", "private"]


def _int(text: str) -> int:
    return int(text)


def _float(text: str) -> float:
    return float(text)


def _permissions(text: str) -> str | int:
    if text.isdigit() or text.lower().startswith("0o"):
        return int(text, 8)  # a mode, as chmod spells it: 2770 or 0o2770
    return text


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


#: Options read from ``PYEXEC_STORE_<NAME>``, with how their text is parsed.
ENV_OPTIONS: dict[str, Callable[[str], Any]] = {
    "url_strategy": str,
    "url_expires": _int,
    "public_endpoint_url": str,
    "jupyter_base_url": str,
    "jupyter_prefix": str,
    "permissions": _permissions,
    "deadline": _float,
    "durable": _bool,  # local stores
    "render_pages": _bool,  # the store's own
}


def environment_options(environ: Mapping[str, str] | None = None) -> dict[str, tuple[Any, str]]:
    """The options set in the environment: name -> (value, variable)."""
    environ = os.environ if environ is None else environ
    found: dict[str, tuple[Any, str]] = {}
    for name, parse in ENV_OPTIONS.items():
        var = ENV_PREFIX + name.upper()
        text = environ.get(var)
        if text is None or text == "":
            continue
        try:
            found[name] = (parse(text), var)
        except ValueError as exc:
            raise ConfigError(f"{var}={text!r} is not valid: {exc}") from None
    return found


def open_store(
    url: str | os.PathLike[str] | None = None,
    *,
    url_strategy: UrlStrategyName | str | None = None,
    url_expires: int | None = None,
    public_endpoint_url: str | None = None,
    jupyter_base_url: str | None = None,
    jupyter_prefix: str | None = None,
    permissions: PermissionPolicy | int | None = None,
    render_pages: bool | None = None,
    **storage_options: Any,
) -> ArtifactStore:
    """Open the store at ``url``.

    Parameters
    ----------
    url
        A local path, ``file://``, ``memory://``, ``s3://bucket/prefix`` or any
        fsspec URL. Default: ``$PYEXEC_STORE_URL``, else ``./_agent_data``.
    url_strategy
        ``"file"``, ``"jupyter"``, ``"presigned"`` or a registered name;
        default by backend (local and memory: ``file``, S3: ``presigned``).
    url_expires
        ``presigned``: lifetime of links in seconds (default 3600, at most 7 days).
    public_endpoint_url
        ``presigned``: the S3 host a browser reaches; links are signed for it.
    jupyter_base_url, jupyter_prefix
        ``jupyter``: the server (default ``http://localhost:8088``) and the
        path of ``executed_scripts/`` under its root (default ``executed_scripts``).
    permissions
        Local stores: ``"group"`` (default), ``"container"``, ``"private"`` or an int mode.
    render_pages
        Whether ``finish_execution`` also writes the execution page,
        ``execution.html`` (default ``False``; needs the ``html`` extra).
    durable (in ``storage_options``)
        Local stores: ``None`` (default) syncs each execution to disk once, when
        it finishes; ``True`` syncs every write; ``False`` never syncs.
    **storage_options
        Options of a custom URL strategy, else of the backend. S3 (s3fs):
        ``endpoint_url``, ``key``, ``secret``, ``token``, ``profile``,
        ``client_kwargs``, ``config_kwargs``, and ``deadline`` (seconds one
        request may take, default 20). Other fsspec protocols: that
        filesystem's options.

    Every option can also be set as ``PYEXEC_STORE_<OPTION>`` in the
    environment (``PYEXEC_STORE_URL_STRATEGY``, ``PYEXEC_STORE_URL_EXPIRES``, …);
    arguments win.

    Raises
    ------
    ConfigError, ConfigTypeError
        For bad arguments, before any I/O; the message names the option (or
        the environment variable it came from).
    MissingDependencyError
        When the backend's extra is not installed.
    """
    named = {
        "url_expires": url_expires,
        "public_endpoint_url": public_endpoint_url,
        "jupyter_base_url": jupyter_base_url,
        "jupyter_prefix": jupyter_prefix,
        "permissions": permissions,
    }
    options = {k: v for k, v in named.items() if v is not None} | storage_options
    env = {k: v for k, v in environment_options().items() if k not in options}
    if url_strategy is not None:
        env.pop("url_strategy", None)
    text = store_url(url if url is not None else os.environ.get(ENV_PREFIX + "URL") or DEFAULT_URL)
    try:
        render = _render_pages(render_pages, env.get("render_pages"))
        store = _open(text, url_strategy, options, env)
        store.render_pages = render
        return store
    except (ConfigError, ConfigTypeError) as exc:
        for name, (_, var) in env.items():
            if name in str(exc):
                raise type(exc)(f"{exc} (set by {var})") from None
        raise


def _render_pages(value: object, env: tuple[Any, str] | None) -> bool:
    """The ``render_pages`` setting, checked: a bool, and the ``html`` extra when true."""
    if value is None:
        value = env[0] if env is not None else False
    if not isinstance(value, bool):
        raise ConfigTypeError(f"render_pages must be True or False, not {value!r}")
    if value:
        rendering.check_available()
    return value


def _open(
    url: str, strategy: str | None, options: dict[str, Any], env: dict[str, tuple[Any, str]]
) -> ArtifactStore:
    backend_cls = backend_class(split_protocol(url))
    if strategy is None and "url_strategy" in env:
        strategy = env["url_strategy"][0]
    if strategy is None:
        strategy = backend_cls.default_url_strategy
    if not isinstance(strategy, str):
        raise ConfigTypeError(f"url_strategy must be a str, not {type(strategy).__name__}")
    strategy_cls = URL_STRATEGIES.get(strategy)
    owners = _builtin_link_options()
    link: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for name, value in options.items():
        if name in strategy_cls.options:
            link[name] = value
        elif name in owners:  # another strategy's setting: unused here, but checked
            URL_STRATEGIES.get(owners[name]).check_options({name: value})
        else:
            rest[name] = value
    for name, (value, _) in env.items():
        # The environment serves every store: a setting this one cannot use is skipped.
        if name in ("url_strategy", "render_pages"):  # not the backend's or the strategy's
            continue
        if name in strategy_cls.options:
            link[name] = value
        elif backend_cls.accepts(name):
            rest[name] = value
    backend = get_backend(url, **rest)
    return ArtifactStore(backend, strategy_cls(backend, **link))


def _builtin_link_options() -> dict[str, str]:
    """Option name -> the built-in strategy that takes it."""
    return {
        option: name
        for name in ("file", "jupyter", "presigned")
        for option in URL_STRATEGIES.get(name).options
    }

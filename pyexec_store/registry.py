"""One registry rule for backends (by URL protocol) and URL strategies (by name).

Built-ins are a table of ``"module:Class"`` targets imported on first use, so
``import pyexec_store`` needs no optional dependency; a target whose import
fails names the extra to install. Packages add more through an entry-point
group, read once, or at run time with :func:`register_backend` and
:func:`register_url_strategy`. A name that is taken is refused unless
``replace=True``.

=================  ==============================  ==================================
registry           entry-point group               built-ins
=================  ==============================  ==================================
backends           ``pyexec_store.backends``       file, local, memory, s3, s3a
URL strategies     ``pyexec_store.url_strategies`` file, jupyter, presigned
=================  ==============================  ==================================
"""

from __future__ import annotations

import importlib
import threading
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Generic, TypeVar

from .errors import ConfigError, ConfigTypeError, MissingDependencyError

if TYPE_CHECKING:
    from .backends.base import Backend
    from .urls.base import UrlStrategy

T = TypeVar("T")


class Registry(Generic[T]):
    """Classes by name: built-ins imported lazily, entry points, and registrations.

    Parameters
    ----------
    kind
        What the classes are, for messages (``"backend"``).
    group
        The entry-point group other packages register in.
    builtins
        name -> (``"module:Class"``, the extra that installs its dependencies).
    """

    def __init__(self, kind: str, group: str, builtins: dict[str, tuple[str, str | None]]) -> None:
        self.kind = kind
        self.group = group
        self._targets: dict[str, tuple[str | type[T], str | None]] = dict(builtins)
        self._loaded: dict[str, type[T]] = {}
        self._scanned = False
        self._lock = threading.Lock()

    def _scan(self) -> None:
        with self._lock:
            if self._scanned:
                return
            for ep in entry_points(group=self.group):
                self._targets.setdefault(ep.name, (ep.value, None))
            self._scanned = True

    def register(self, name: str, target: type[T] | str, *, replace: bool = False) -> None:
        """Serve ``name`` with ``target``: a class, or ``"module:Class"`` imported on first use.

        Raises
        ------
        ConfigError
            If ``name`` is taken (a built-in, an entry point or an earlier
            registration) and ``replace`` is false.
        """
        if not isinstance(name, str) or not name:
            raise ConfigTypeError(f"a {self.kind} name must be a non-empty str, not {name!r}")
        if not isinstance(target, (str, type)):
            raise ConfigTypeError(
                f"a {self.kind} must be a class or 'module:Class', not {target!r}"
            )
        self._scan()
        if name in self._targets and not replace:
            raise ConfigError(f"{self.kind} {name!r} is already registered; pass replace=True")
        self._targets[name] = (target, None)
        self._loaded.pop(name, None)

    def names(self) -> list[str]:
        """Every name this registry serves."""
        self._scan()
        return sorted(self._targets)

    def __contains__(self, name: object) -> bool:
        self._scan()
        return name in self._targets

    def get(self, name: str) -> type[T]:
        """The class registered as ``name``, importing it on first use.

        Raises
        ------
        ConfigError
            For an unknown name (the message lists the known ones).
        MissingDependencyError
            When its module cannot be imported; names the extra to install.
        """
        if name in self._loaded:
            return self._loaded[name]
        self._scan()
        if name not in self._targets:
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}")
        target, extra = self._targets[name]
        if isinstance(target, str):
            module_name, _, class_name = target.partition(":")
            try:
                cls: type[T] = getattr(importlib.import_module(module_name), class_name)
            except ImportError as exc:
                hint = f": pip install 'pyexec-store[{extra}]'" if extra else ""
                raise MissingDependencyError(
                    f"the {name} {self.kind} cannot be imported ({exc}){hint}"
                ) from exc
        else:
            cls = target
        self._loaded[name] = cls
        return cls


BACKENDS: Registry[Backend] = Registry(
    "backend",
    "pyexec_store.backends",
    {
        "file": ("pyexec_store.backends.local:LocalBackend", None),
        "local": ("pyexec_store.backends.local:LocalBackend", None),
        "memory": ("pyexec_store.backends.memory:MemoryBackend", None),
        "s3": ("pyexec_store.backends.s3:S3Backend", "s3"),
        "s3a": ("pyexec_store.backends.s3:S3Backend", "s3"),
    },
)
URL_STRATEGIES: Registry[UrlStrategy] = Registry(
    "url_strategy",
    "pyexec_store.url_strategies",
    {
        "file": ("pyexec_store.urls.file:FileUrls", None),
        "jupyter": ("pyexec_store.urls.jupyter:JupyterUrls", None),
        "presigned": ("pyexec_store.urls.presigned:PresignedUrls", "s3"),
    },
)


def register_backend(protocol: str, backend: type[Backend] | str, *, replace: bool = False) -> None:
    """Serve URLs of ``protocol`` with ``backend`` (a class or ``"module:Class"``).

    The class subclasses :class:`pyexec_store.backends.Backend` and is built as
    ``backend(url, **storage_options)``.
    """
    BACKENDS.register(protocol, backend, replace=replace)


def register_url_strategy(
    name: str, strategy: type[UrlStrategy] | str, *, replace: bool = False
) -> None:
    """Make ``url_strategy=name`` use ``strategy`` (a class or ``"module:Class"``).

    The class subclasses :class:`pyexec_store.urls.UrlStrategy`; its ``options``
    table names the ``open_store`` options it takes.
    """
    URL_STRATEGIES.register(name, strategy, replace=replace)

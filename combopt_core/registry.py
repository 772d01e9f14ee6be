"""Backend registry on pluggy: discovery through entry points, selection by name.

Selection order: an explicit ``name`` argument, else the ``COMBOPT_SOLVER`` environment
variable, else the first backend of ``DEFAULT_PREFERENCE`` that can run here (CP-SAT when
``ortools`` is installed, else HiGHS, which every install has). Plugins are loaded when the registry is first used, each entry
point on its own: one that fails to import is recorded as broken (with its error) and the
others still load. ``COMBOPT_LOAD_PLUGINS`` (comma-separated entry-point names; empty for
none) restricts which entry points load at all.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import pluggy

from . import hookspecs
from .errors import BackendNotFoundError, BackendUnavailableError, CombOptError
from .limits import BackendLimits
from .log import logger
from .solver import ILPSolver

ENTRY_POINT_GROUP = "combopt.backends"
SOLVER_ENV_VAR = "COMBOPT_SOLVER"
LOAD_PLUGINS_ENV_VAR = "COMBOPT_LOAD_PLUGINS"
#: The default backend is the first of these that can run here: exact and licence-free,
#: fastest first on the paper's workloads (``docs/backends.md`` has the measurements).
DEFAULT_PREFERENCE = ("cpsat", "highs")
#: The default when none of ``DEFAULT_PREFERENCE`` can run (its error says what to install).
DEFAULT_BACKEND = "highs"
#: combopt's own backend plugins (entry-point name -> module). They load first, and the
#: backend names they register cannot be taken by another plugin.
BUILTIN_PLUGINS = {
    name: f"combopt_{name}" for name in ("highs", "gurobi", "scip", "cpsat", "bruteforce")
}


@dataclass(frozen=True)
class BackendSpec:
    """What a plugin registers for one backend.

    Attributes:
        name: the name users select it by (``"highs"``, ``"gurobi"``, ...).
        factory: ``factory(**options) -> ILPSolver``; imports the solver package lazily.
        module: the solver's Python module; the backend is unavailable when it is missing.
        distribution: the PyPI distribution whose version is reported (defaults to ``module``).
        install_hint: the command that makes it available.
        check: optional ``check() -> str | None`` returning why it cannot run (e.g. licence).
        description: one line for ``combopt backends``.
        limits: what the backend cannot be asked (``BackendLimits``); the conformance kit
            reads them. ``None`` for no limits.
    """

    name: str
    factory: Callable[..., ILPSolver]
    module: str | None = None
    distribution: str | None = None
    install_hint: str = ""
    check: Callable[[], str | None] | None = None
    description: str = ""
    limits: BackendLimits | None = None

    def version(self) -> str | None:
        dist = self.distribution or self.module
        if dist is None:
            return None
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return None

    def unavailable_reason(self) -> str | None:
        """``None`` if the backend can run here, else why not (with the install hint)."""
        if self.module is not None and importlib.util.find_spec(self.module) is None:
            hint = f"; install with: {self.install_hint}" if self.install_hint else ""
            return f"package '{self.module}' is not installed{hint}"
        if self.check is not None:
            return self.check()
        return None


@dataclass(frozen=True)
class BackendStatus:
    """One row of ``combopt backends``."""

    name: str
    version: str | None
    available: bool
    reason: str
    plugin: str


@dataclass
class Registry:
    """Backends contributed by plugins. Use the module-level functions for the default one."""

    group: str = ENTRY_POINT_GROUP
    _pm: pluggy.PluginManager = field(init=False)
    _loaded: bool = field(default=False, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    broken: dict[str, str] = field(default_factory=dict, init=False)
    skipped: list[str] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self._pm = pluggy.PluginManager("combopt")
        self._pm.add_hookspecs(hookspecs)

    def _allowed(self) -> set[str] | None:
        raw = os.environ.get(LOAD_PLUGINS_ENV_VAR)
        if raw is None:
            return None
        return {name.strip() for name in raw.split(",") if name.strip()}

    def load_entry_points(self) -> None:
        """Load every allowed entry point once, each in isolation.

        Entry points left out by ``$COMBOPT_LOAD_PLUGINS`` are never imported (their names
        are kept in ``skipped``); a name there that no entry point has raises
        ``BackendNotFoundError``. One that raises on import (even ``SystemExit``) is
        recorded in ``broken`` and the others still load. The built-in plugins load first;
        another entry point of the same name is registered under its module path. An
        interruption (``KeyboardInterrupt``) while loading undoes this call's registrations,
        so the next use loads again from scratch.
        """
        with self._lock:
            if self._loaded:
                return
            points = sorted(
                importlib.metadata.entry_points(group=self.group),
                key=lambda ep: BUILTIN_PLUGINS.get(ep.name) != ep.value,
            )
            allowed = self._allowed()
            unknown = sorted((allowed or set()) - {ep.name for ep in points})
            if unknown:
                raise BackendNotFoundError(
                    f"${LOAD_PLUGINS_ENV_VAR}: no backend entry point named "
                    f"{', '.join(map(repr, unknown))}; installed: "
                    f"{', '.join(sorted({ep.name for ep in points})) or 'none'}"
                )
            before = set(self._pm.list_name_plugin())
            try:
                self._load(points, allowed)
            except BaseException:
                for name, _ in self._pm.list_name_plugin():
                    if (name, _) not in before:
                        self._pm.unregister(name=name)
                self.skipped.clear()
                self.broken.clear()
                raise
            self._loaded = True

    def _load(self, points: list, allowed: set[str] | None) -> None:
        for ep in points:
            if allowed is not None and ep.name not in allowed:
                self.skipped.append(ep.name)
                continue
            name = ep.name if not self._pm.has_plugin(ep.name) else ep.value
            if self._pm.has_plugin(name):
                continue
            try:
                self._pm.register(ep.load(), name=name)
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - a plugin may raise anything
                detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
                self.broken[name] = f"failed to load entry point '{ep.value}': {detail}"
                logger.warning("backend plugin '%s': %s", name, self.broken[name])

    def register_plugin(self, plugin: object, name: str | None = None) -> None:
        """Register an in-process plugin object or module (no entry point needed)."""
        self._pm.register(plugin, name=name)

    def unregister_plugin(self, name: str) -> None:
        self._pm.unregister(name=name)

    def specs(self) -> dict[str, tuple[BackendSpec, str]]:
        """Every registered backend with the plugin that registered it, by name."""
        self.load_entry_points()
        found: dict[str, tuple[BackendSpec, str]] = {}
        claims: dict[str, list[tuple[BackendSpec, str]]] = {}
        for impl in self._pm.hook.register_backends.get_hookimpls():
            plugin_name = self._pm.get_name(impl.plugin) or repr(impl.plugin)

            def register(spec: BackendSpec, _plugin: str = plugin_name) -> None:
                if not isinstance(spec, BackendSpec):
                    raise CombOptError(
                        f"plugin '{_plugin}' registered {spec!r}; expected a BackendSpec"
                    )
                claims.setdefault(spec.name, []).append((spec, _plugin))

            try:
                impl.function(register=register)
            except Exception as exc:  # noqa: BLE001
                if plugin_name not in self.broken:  # specs() runs on every lookup: log once
                    logger.warning(
                        "backend plugin '%s': register_backends raised %r", plugin_name, exc
                    )
                self.broken[plugin_name] = f"register_backends raised: {exc!r}"
        for name, claimants in claims.items():
            found[name] = self._winner(name, claimants)
        return found

    def _winner(
        self, name: str, claimants: list[tuple[BackendSpec, str]]
    ) -> tuple[BackendSpec, str]:
        """The registration of backend ``name`` that counts, whatever the load order: the
        built-in plugin's if there is one, else the only one. Every other claimant is
        recorded in ``broken``; several third-party claimants make the name unavailable."""
        plugins = {plugin for _, plugin in claimants}
        builtin = [c for c in claimants if self._is_builtin(c[1])]
        if len(plugins) == 1 or builtin:
            keep = (builtin or claimants)[0]
            for _, plugin in claimants:
                if plugin != keep[1]:
                    self.broken[plugin] = (
                        f"registers backend '{name}', which the built-in plugin "
                        f"'{keep[1]}' provides; register it under another name"
                    )
            return keep
        for plugin in plugins:
            others = ", ".join(sorted(plugins - {plugin}))
            self.broken[plugin] = f"registers backend '{name}', as do plugins: {others}"
        why = f"registered by several plugins ({', '.join(sorted(plugins))})"
        spec = BackendSpec(name=name, factory=claimants[0][0].factory, check=lambda: why)
        return spec, ", ".join(sorted(plugins))

    def _is_builtin(self, plugin: str) -> bool:
        module = getattr(self._pm.get_plugin(plugin), "__name__", None)
        return module is not None and BUILTIN_PLUGINS.get(plugin) == module

    def statuses(self) -> list[BackendStatus]:
        """A row per backend (sorted by name), then a row per broken plugin."""
        rows = []
        for name, (spec, plugin) in sorted(self.specs().items()):
            reason = spec.unavailable_reason()
            rows.append(BackendStatus(name, spec.version(), reason is None, reason or "", plugin))
        for plugin, error in sorted(self.broken.items()):
            rows.append(BackendStatus(plugin, None, False, f"broken plugin: {error}", plugin))
        return rows

    def resolve_name(self, name: str | None = None) -> str:
        """Explicit ``name`` > ``$COMBOPT_SOLVER`` > ``default_name()``."""
        if name:
            return name
        return os.environ.get(SOLVER_ENV_VAR) or self.default_name()

    def default_name(self) -> str:
        """The first backend of ``DEFAULT_PREFERENCE`` that can run here, else HiGHS."""
        specs = self.specs()
        for name in DEFAULT_PREFERENCE:
            if name in specs and specs[name][0].unavailable_reason() is None:
                return name
        return DEFAULT_BACKEND

    def get_solver(self, name: str | None = None, **options: Any) -> ILPSolver:
        """A fresh solver of the selected backend, built with ``options``.

        Raises:
            TypeError: ``name`` is not a string (or ``None``), or the backend rejects
                ``options``.
            BackendNotFoundError: no backend of that name (the message lists the known ones,
                broken plugins and plugins left out by ``$COMBOPT_LOAD_PLUGINS``).
            BackendUnavailableError: registered but its package or licence is missing, or
                its factory failed (e.g. no licence at environment creation).
        """
        if name is not None and not isinstance(name, str):
            raise TypeError(
                f"solver: expected a backend name or an ILPSolver, got {type(name).__name__}"
            )
        chosen = self.resolve_name(name)
        specs = self.specs()
        if chosen not in specs:
            known = ", ".join(sorted(specs)) or "none"
            source = "" if name else f" (from ${SOLVER_ENV_VAR} or the default)"
            notes = ""
            if self.broken:
                notes += f"; broken plugins: {', '.join(sorted(self.broken))}"
            if self.skipped:
                left_out = ", ".join(sorted(self.skipped))
                notes += f"; plugins left out by ${LOAD_PLUGINS_ENV_VAR}: {left_out}"
            raise BackendNotFoundError(
                f"solver: unknown backend '{chosen}'{source}; known backends: {known}{notes}"
            )
        spec, _ = specs[chosen]
        reason = spec.unavailable_reason()
        if reason is not None:
            raise BackendUnavailableError(f"solver: backend '{chosen}' is unavailable: {reason}")
        logger.debug("solver: backend '%s' (asked for %r), options %r", chosen, name, options)
        try:
            return spec.factory(**options)
        except TypeError as exc:
            raise TypeError(f"solver options for backend '{chosen}': {exc}") from exc
        except (ValueError, CombOptError):
            raise  # a bad option value, or a backend's own precise error: the caller's to see
        except Exception as exc:  # noqa: BLE001 - licence and environment errors vary
            raise BackendUnavailableError(
                f"solver: backend '{chosen}' failed to start: {exc!r}"
            ) from exc


_DEFAULT = Registry()


def default_registry() -> Registry:
    return _DEFAULT


def get_solver(name: str | None = None, **options: Any) -> ILPSolver:
    """Build a solver: explicit ``name`` > ``$COMBOPT_SOLVER`` > ``"highs"``."""
    return _DEFAULT.get_solver(name, **options)


def list_backends() -> list[BackendStatus]:
    """Every known backend: name, version, available or why not; broken plugins last."""
    return _DEFAULT.statuses()


def register_plugin(plugin: object, name: str | None = None) -> None:
    """Register an in-process plugin on the default registry."""
    _DEFAULT.register_plugin(plugin, name=name)

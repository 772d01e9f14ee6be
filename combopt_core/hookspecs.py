"""The plugin hook a backend implements (pluggy project name ``combopt``).

A backend plugin is a module exposed through the ``combopt.backends`` entry-point group::

    [project.entry-points."combopt.backends"]
    mysolver = "my_package.plugin"

whose module defines::

    from combopt_core import BackendSpec, hookimpl

    @hookimpl
    def register_backends(register):
        register(BackendSpec(name="mysolver", factory=MySolver, module="mysolver_pkg"))
"""

from __future__ import annotations

from typing import Callable

import pluggy

hookspec = pluggy.HookspecMarker("combopt")
hookimpl = pluggy.HookimplMarker("combopt")
"""The decorator that marks a plugin's ``register_backends`` as its hook implementation
(``@hookimpl``); see the module's example above."""


@hookspec
def register_backends(register: Callable[..., None]) -> None:
    """Call ``register(spec)`` once per backend this plugin provides (a ``BackendSpec``)."""

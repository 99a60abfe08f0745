"""Plugin loading: the ``careaccess`` entry-point group, read once, plus built-ins.

Set ``CAREACCESS_DISABLE_PLUGINS`` to a comma-separated list of entry-point names to
skip them, or to ``*`` to load none.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
from collections.abc import Iterable

import pluggy

from careaccess import hookspecs
from careaccess.memory import MemoryStorePlugin

__all__ = ["make_plugin_manager"]

DISABLE_ENV = "CAREACCESS_DISABLE_PLUGINS"


@functools.cache
def _entry_point_plugins(blocked: frozenset[str]) -> tuple[tuple[str, object], ...]:
    if "*" in blocked:
        return ()
    found = importlib.metadata.entry_points(group="careaccess")
    return tuple((ep.name, ep.load()) for ep in sorted(found, key=lambda ep: ep.name) if ep.name not in blocked)


def make_plugin_manager(plugins: Iterable[object] = ()) -> pluggy.PluginManager:
    """A plugin manager with the installed plugins, then *plugins*, then the built-ins."""
    manager = pluggy.PluginManager("careaccess")
    manager.add_hookspecs(hookspecs)
    blocked = frozenset(name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",") if name.strip())
    for name, plugin in _entry_point_plugins(blocked):
        if manager.get_plugin(name) is None and not manager.is_registered(plugin):
            manager.register(plugin, name=name)
    for plugin in plugins:
        if not manager.is_registered(plugin):
            manager.register(plugin)
    manager.register(MemoryStorePlugin(), name="careaccess.memory")
    manager.check_pending()
    return manager

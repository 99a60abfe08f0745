"""Plugins: loading them, and :class:`Hooks`, the one place that calls them.

Two entry-point groups are read:

- ``careaccess``: general plugins (authorization, directory, notification, stores),
  loaded once per process and registered in every plugin manager;
- ``careaccess.stores``: store plugins named by the URL scheme they open
  (``sqlite = "careaccess_sql:plugin"``), loaded only when a URL of that scheme is
  opened or upgraded, so ``connect("memory://")`` imports no backend.

Set ``CAREACCESS_DISABLE_PLUGINS`` to a comma-separated list of entry-point names to
skip them, or to ``*`` to load none.

Every call of a hook goes through :class:`Hooks` (the model is tox's ``Plugin``
class): typed methods with the rule of each hook in one place. ``careaccess_notify``
implementations are called exactly as pluggy calls them — in reverse registration
order, ``tryfirst`` first, ``trylast`` last, wrappers (``wrapper=True`` and
``hookwrapper=True``) around the rest — but each plain implementation is isolated: one
that raises is logged and the others still run.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import os
import traceback
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pluggy

from careaccess import hookspecs
from careaccess.errors import UnknownStore
from careaccess.identity import PersonalIdentityNumber, redact
from careaccess.memory import MemoryStorePlugin
from careaccess.models import Actor, Event, Resident
from careaccess.store import Store

if TYPE_CHECKING:
    from careaccess.aio.store import AsyncStore

__all__ = ["DISABLE_ENV", "GROUP", "STORES_GROUP", "Hooks", "PluginManager", "make_plugin_manager"]

log = logging.getLogger("careaccess")

DISABLE_ENV = "CAREACCESS_DISABLE_PLUGINS"
GROUP = "careaccess"
STORES_GROUP = "careaccess.stores"

#: The package to install for a well-known scheme, named in the error for an unknown one.
_PACKAGE_FOR_SCHEME = {
    "redis": "careaccess-redis",
    "rediss": "careaccess-redis",
    "unix": "careaccess-redis",
    "sqlite": "careaccess-sql",
    "postgresql": "careaccess-sql",
    "postgres": "careaccess-sql",
    "mysql": "careaccess-sql",
    "mariadb": "careaccess-sql",
}


def _blocked() -> frozenset[str]:
    return frozenset(name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",") if name.strip())


@functools.cache
def _entry_point_plugins(blocked: frozenset[str]) -> tuple[tuple[str, object], ...]:
    """The ``careaccess`` group's plugins, loaded (once per process and block list)."""
    if "*" in blocked:
        return ()
    found = importlib.metadata.entry_points(group=GROUP)
    return tuple((ep.name, ep.load()) for ep in sorted(found, key=lambda ep: ep.name) if ep.name not in blocked)


@functools.cache
def _store_entry_points(blocked: frozenset[str]) -> dict[str, importlib.metadata.EntryPoint]:
    """The ``careaccess.stores`` group by scheme, not loaded."""
    if "*" in blocked:
        return {}
    found = importlib.metadata.entry_points(group=STORES_GROUP)
    return {ep.name: ep for ep in sorted(found, key=lambda ep: ep.name) if ep.name not in blocked}


@functools.cache
def _load_store_plugin(entry_point: importlib.metadata.EntryPoint) -> object:
    return entry_point.load()


def _scheme(url: str) -> str:
    """``postgresql`` of ``postgresql+psycopg://host/db``."""
    return url.split(":", 1)[0].split("+", 1)[0].lower()


def _plugin_label(name: str, plugin: object) -> str:
    """A plugin's registered name, or its class for one registered without a name.

    pluggy names an unnamed plugin by ``id()``: a number that says nothing to a reader
    and that could, by chance, repeat digits of the identity number being redacted.
    """
    if name == str(id(plugin)):
        kind = plugin if isinstance(plugin, type) else type(plugin)
        return f"{kind.__module__}.{kind.__qualname__}"
    return name


def _isolated(function: Callable[..., object], label: str) -> Callable[..., object]:
    """*function* (a ``careaccess_notify`` implementation) that logs instead of raising."""

    @functools.wraps(function)
    def call(*args: Any) -> None:
        try:
            function(*args)
        except Exception as error:  # a failing listener never undoes a committed change
            event = next((a for a in args if isinstance(a, Event)), None)
            log.error(
                "careaccess_notify hook %r failed on event %s (%s):\n%s",
                label,
                None if event is None else event.id,
                None if event is None else event.action.value,
                redact("".join(traceback.format_exception(error))),
            )

    return call


class PluginManager(pluggy.PluginManager):
    """pluggy's manager for the ``careaccess`` project; every plain ``careaccess_notify``
    implementation registered with it is isolated (see the module docs)."""

    def __init__(self) -> None:
        super().__init__("careaccess")
        self.add_hookspecs(hookspecs)

    def register(self, plugin: object, name: str | None = None) -> str | None:
        registered = super().register(plugin, name)
        if registered is not None:
            for impl in self.hook.careaccess_notify.get_hookimpls():
                if impl.plugin is plugin and not (impl.wrapper or impl.hookwrapper):
                    # HookImpl.function is typed Final, but replacing it is how an
                    # implementation is isolated while pluggy keeps its own call order.
                    isolated = _isolated(impl.function, _plugin_label(registered, plugin))
                    setattr(impl, "function", isolated)  # noqa: B010
        return registered


def make_plugin_manager(plugins: Iterable[object] = ()) -> PluginManager:
    """A plugin manager with the installed plugins, then *plugins*, then the built-ins.

    Store plugins of the ``careaccess.stores`` group are not loaded here but by
    :meth:`Hooks.open_store` and :meth:`Hooks.upgrade_store`, for their scheme only.
    """
    manager = PluginManager()
    for name, plugin in _entry_point_plugins(_blocked()):
        if manager.get_plugin(name) is None and not manager.is_registered(plugin):
            manager.register(plugin, name=name)
    for plugin in plugins:
        if not manager.is_registered(plugin):
            manager.register(plugin)
    manager.register(MemoryStorePlugin(), name="careaccess.memory")
    manager.check_pending()
    return manager


class Hooks:
    """The calls careaccess makes to its plugins, one typed method per hook.

    :param manager: a manager from :func:`make_plugin_manager`; default: a new one.
    """

    def __init__(self, manager: pluggy.PluginManager | None = None) -> None:
        self.manager = make_plugin_manager() if manager is None else manager
        self._hook = self.manager.hook

    def _load_for(self, url: str) -> bool:
        """Register the ``careaccess.stores`` plugin for *url*'s scheme; whether one was new."""
        entry_point = _store_entry_points(_blocked()).get(_scheme(url))
        if entry_point is None:
            return False
        plugin = _load_store_plugin(entry_point)
        if self.manager.is_registered(plugin):
            return False
        self.manager.register(plugin, name=f"{STORES_GROUP}:{entry_point.value}")
        return True

    def open_store(self, url: str) -> Store:
        """The store *url* names (``careaccess_open_store``; first non-None answer).

        :raises UnknownStore: ``unknown_store_scheme`` when no plugin opens it; the
            message lists the installed schemes and the package for a well-known one.
        """
        store: Store | None = self._hook.careaccess_open_store(url=url)
        if store is None and self._load_for(url):
            store = self._hook.careaccess_open_store(url=url)
        if store is None:
            raise self._unknown_store(url)
        return store

    def open_async_store(self, url: str) -> AsyncStore | None:
        """The native asynchronous store *url* names (``careaccess_open_async_store``), or None.

        Loads the scheme's ``careaccess.stores`` plugin as :meth:`open_store` does; None
        when no plugin has an asynchronous store for the URL (the caller then runs the
        synchronous store in threads).
        """
        store: AsyncStore | None = self._hook.careaccess_open_async_store(url=url)
        if store is None and self._load_for(url):
            store = self._hook.careaccess_open_async_store(url=url)
        return store

    def store_schemes(self) -> list[str]:
        """Every scheme an installed plugin opens, sorted (``careaccess_store_schemes``)."""
        schemes = {s for found in self._hook.careaccess_store_schemes() for s in found}
        return sorted(schemes | set(_store_entry_points(_blocked())))

    def upgrade_store(self, url: str) -> str | None:
        """Create or upgrade *url*'s schema (``careaccess_upgrade_store``): what was done, or None."""
        result: str | None = self._hook.careaccess_upgrade_store(url=url)
        if result is None and self._load_for(url):
            result = self._hook.careaccess_upgrade_store(url=url)
        return result

    def lookup_resident(self, pnr: PersonalIdentityNumber) -> Resident | None:
        """The directory's resident (``careaccess_lookup_resident``; first non-None answer)."""
        resident: Resident | None = self._hook.careaccess_lookup_resident(pnr=pnr)
        return resident

    def authorize(self, actor: Actor, action: str, clinic_id: str) -> bool:
        """Whether *actor* may do *action* at *clinic_id*.

        Any ``careaccess_authorize`` vote of ``False`` denies; otherwise any ``True``
        allows; otherwise the default: the actor administers the clinic.
        """
        votes = self._hook.careaccess_authorize(actor=actor, action=str(action), clinic_id=clinic_id)
        if False in votes:
            return False
        return True in votes or actor.administers(clinic_id)

    def notify(self, event: Event) -> None:
        """Tell every ``careaccess_notify`` implementation of a committed *event*, in pluggy's order.

        Never raises: a failing plain implementation is logged and skipped (by
        :class:`PluginManager`); a failing wrapper ends the call, logged.
        """
        try:
            self._hook.careaccess_notify(event=event)
        except Exception as error:  # only a wrapper gets here: plain implementations are isolated
            log.error(
                "careaccess_notify wrapper failed on event %s (%s):\n%s",
                event.id,
                event.action.value,
                redact("".join(traceback.format_exception(error))),
            )

    def _unknown_store(self, url: str) -> UnknownStore:
        scheme = url.split(":", 1)[0]
        installed = ", ".join(self.store_schemes())
        package = _PACKAGE_FOR_SCHEME.get(_scheme(url))
        hint_en = f" Install {package} to use it." if package else ""
        hint_sv = f" Installera {package} för att använda det." if package else ""
        return UnknownStore(
            "unknown_store_scheme",
            f"No installed store opens {scheme!r} URLs; installed schemes: {installed}.{hint_en}",
            f"Ingen installerad lagring öppnar {scheme!r}-adresser; installerade: {installed}.{hint_sv}",
        )

    def authorize_is_default(self) -> bool:
        """Whether no plugin implements ``careaccess_authorize``: then an actor may act at
        exactly ``actor.clinics``, so a list for an actor may ask the store for those alone."""
        return not self._hook.careaccess_authorize.get_hookimpls()

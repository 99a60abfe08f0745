"""Hook specifications: every hook careaccess calls, in one place.

Plugins implement them with :data:`careaccess.hookimpl` and are found through the
``careaccess`` entry-point group or passed to :func:`careaccess.connect`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from careaccess.aio.store import AsyncStore
    from careaccess.identity import PersonalIdentityNumber
    from careaccess.models import Actor, Event, Resident
    from careaccess.store import Store

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("careaccess")
hookimpl = pluggy.HookimplMarker("careaccess")


@hookspec(firstresult=True)
def careaccess_open_store(url: str) -> Store | None:
    """Open the store a URL names.

    Return ``None`` for URLs whose scheme the plugin does not handle.
    Stops at first non-None result.

    :param url: the URL given to :func:`careaccess.connect`, e.g. ``"memory://"``.
    :returns: an object satisfying :class:`careaccess.store.Store`, or ``None``.

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def careaccess_open_async_store(url: str) -> AsyncStore | None:
    """Open the native asynchronous store a URL names.

    Return ``None`` for URLs the plugin does not handle or has no asynchronous store
    for: :func:`careaccess.aio.connect` then opens the synchronous store
    (``careaccess_open_store``) and runs it in worker threads. A store plugin
    implements it next to ``careaccess_open_store``, in the same module. Stops at first
    non-None result.

    :param url: the URL given to :func:`careaccess.aio.connect`, e.g. ``"redis://localhost/0"``.
    :returns: an object satisfying :class:`careaccess.aio.store.AsyncStore`, or ``None``.

    .. versionadded:: 0.2
    """


@hookspec
def careaccess_store_schemes() -> Sequence[str]:
    """The URL schemes this plugin opens with :func:`careaccess_open_store`.

    Used to list the installed schemes when a URL matches none.

    :returns: scheme names without ``://``, e.g. ``["memory"]``.

    .. versionadded:: 0.1
    """
    return ()


@hookspec(firstresult=True)
def careaccess_lookup_resident(pnr: PersonalIdentityNumber) -> Resident | None:
    """Look a resident up in the population register (name and residence).

    Stops at first non-None result.

    :param pnr: the resident's identity number.
    :returns: the resident, or ``None`` when this plugin does not know them.

    .. versionadded:: 0.1
    """


@hookspec
def careaccess_notify(event: Event) -> None:
    """Be told of a change after it has been committed.

    Every implementation is called, in turn, once per committed change. An
    implementation that raises is logged (without identity numbers) and neither undoes
    the change nor stops the other implementations.

    :param event: the committed event, as :meth:`careaccess.CareAccess.events` returns it.

    .. versionadded:: 0.1
    """


@hookspec
def careaccess_authorize(actor: Actor, action: str, clinic_id: str) -> bool | None:
    """Extend or restrict who may act at a clinic.

    Without any implementation, an actor may act at exactly the clinics in
    ``actor.clinics``. If any implementation returns ``False`` the action is denied;
    otherwise if any returns ``True`` it is allowed; ``None`` leaves the default.

    :param actor: who is acting.
    :param action: an :class:`careaccess.Action` value for changes, or ``"view"`` for
        reading a clinic's residents.
    :param clinic_id: the clinic acted on.
    :returns: ``True`` to allow, ``False`` to deny, ``None`` to abstain.

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def careaccess_upgrade_store(url: str) -> str | None:
    """Create or upgrade the schema of the store a URL names (``careaccess db upgrade``).

    Return ``None`` for URLs whose scheme the plugin does not handle.
    Stops at first non-None result.

    :param url: the store URL.
    :returns: a one-line description of what was done, e.g. ``"upgraded to 0002"``.

    .. versionadded:: 0.1
    """

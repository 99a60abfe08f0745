"""The root command, its shared options, and how a command opens its store and prints.

Every admin command is a function from a :class:`Session` and its arguments to an
:class:`Output` (JSON-ready data and lines for people), wrapped by :func:`admin`,
which adds ``--store``, ``--directory``, ``--actor`` and ``--json``, opens the store and
prints the result or the error.

``--json`` always prints one JSON document on standard output: the result, or
``{"error": {"code", "message_en", "message_sv"}}`` for a careaccess error, a usage
error (``usage_error``) and an unexpected failure (``internal_error``) alike.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import click
from attrs import frozen

import careaccess
from careaccess.errors import CareAccessError, NotFound, UnknownStore
from careaccess.models import Actor
from careaccess.plugins import Hooks, make_plugin_manager
from careaccess.register import FileRegister
from careaccess.service import CareAccess
from careaccess.texts import install_hint

__all__ = ["DEFAULT_ACTOR", "DEFAULT_STORE", "Environment", "Output", "Session", "admin", "cli"]

#: The store admin commands open when neither ``--store`` nor ``CAREACCESS_STORE`` is given.
DEFAULT_STORE = "sqlite:///careaccess.db"
DEFAULT_ACTOR = "cli"

OpenAccess = Callable[[str], AbstractContextManager[CareAccess]]
Upgrade = Callable[[str], str | None]


def _upgrade(url: str) -> str | None:
    # Through the facade: it loads the store plugin of the URL's scheme first.
    return Hooks(make_plugin_manager()).upgrade_store(url)


@frozen
class Environment:
    """What the admin commands run against; pass one as click's ``obj`` to replace it.

    :ivar open_access: called with the ``--store`` URL for each command; returns a
        context manager giving the :class:`~careaccess.CareAccess` to use. None (the
        default): connect to the URL with the installed plugins and the ``--directory``
        register. An ``open_access`` of your own chooses its plugins itself, so
        ``--directory`` does not apply to it.
    :ivar upgrade: called with the URL by ``db upgrade``; returns the hook's description,
        or ``None`` when no plugin handles the URL.
    """

    open_access: OpenAccess | None = None
    upgrade: Upgrade = _upgrade

    @classmethod
    def sharing(cls, access: CareAccess) -> Environment:
        """Every command uses *access*, whatever ``--store`` says, and leaves it open."""

        def open_access(url: str) -> AbstractContextManager[CareAccess]:
            return contextlib.nullcontext(access)

        def upgrade(url: str) -> str | None:
            return access.hooks.upgrade_store(url)

        return cls(open_access, upgrade)


def sqlite_file(url: str) -> Path | None:
    """The database file of a ``sqlite:///path`` URL; None for other URLs and in-memory SQLite."""
    scheme, separator, rest = url.partition("://")
    if not separator or scheme.split("+", 1)[0].lower() != "sqlite" or not rest.startswith("/"):
        return None
    path = rest[1:].split("?", 1)[0]
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return Path(path)


def _register(directory: str | None) -> list[object]:
    if not directory:
        return []
    # 10-digit numbers in the file are judged against today's date where the service judges dates.
    today = dt.datetime.now(ZoneInfo("Europe/Stockholm")).date()
    return [FileRegister.from_path(directory, today=today)]


def open_store(
    environment: Environment, url: str, *, directory: str | None = None, read_only: bool = False
) -> AbstractContextManager[CareAccess]:
    """The store a command works on.

    :param read_only: the command only reads, so a store that does not exist yet is an
        error (``store_not_found``) rather than an empty store created in passing.
    :raises NotFound: ``store_not_found``.
    :raises InvalidRequest: ``invalid_register``, ``register_unreadable`` for ``--directory``.
    """
    if environment.open_access is not None:
        return environment.open_access(url)
    if read_only:
        path = sqlite_file(url)
        if path is not None and not path.exists():
            raise NotFound("store_not_found", url=url)
    plugins = _register(directory)
    try:
        return careaccess.connect(url, plugins=plugins)
    except UnknownStore as error:
        raise with_install_hint(error, url) from None


def with_install_hint(error: UnknownStore, url: str) -> UnknownStore:
    """*error* with the command that installs the backend for *url* from a checkout."""
    hint = install_hint(url)
    if hint is None:
        return error
    return UnknownStore(error.code, f"{error.message_en} {hint.en}", f"{error.message_sv} {hint.sv}")


@frozen
class Session:
    """What a command works with: the opened store and the acting administrator's id."""

    access: CareAccess
    actor_id: str
    directory: str | None = None

    def actor(self, clinic_id: str) -> Actor:
        # The operator is treated as administering the clinic the command acts on.
        return Actor(self.actor_id, frozenset({clinic_id}))


@frozen
class Output:
    """A command's result: JSON-ready data for ``--json``, and lines for people."""

    data: Any
    lines: Sequence[str]


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _error_json(code: str, en: str, sv: str) -> dict[str, Any]:
    return {"error": {"code": code, "message_en": en, "message_sv": sv}}


def fail(error: CareAccessError, as_json: bool) -> NoReturn:
    """Print *error* (JSON on standard output, or text on standard error) and exit with 1."""
    if as_json:
        _print_json(_error_json(error.code, error.message_en, error.message_sv))
    else:
        click.echo(f"error [{error.code}]: {error.message_en} / {error.message_sv}", err=True)
    raise click.exceptions.Exit(1)


def _fail_unexpectedly(error: Exception) -> NoReturn:
    # Only the type: the message of an error careaccess did not make may quote an identity number.
    name = type(error).__name__
    _print_json(
        _error_json(
            "internal_error",
            f"careaccess failed unexpectedly ({name}); nothing more is known. Run without --json for the traceback.",
            f"careaccess misslyckades oväntat ({name}). Kör utan --json för att se felspåret.",
        )
    )
    raise click.exceptions.Exit(1)


def emit(output: Output, as_json: bool) -> None:
    """Print a command's result."""
    if as_json:
        _print_json(output.data)
    else:
        for line in output.lines:
            click.echo(line)


def warn(en: str, sv: str) -> None:
    """A note for the operator on standard error; standard output stays the result."""
    click.echo(f"warning: {en} / {sv}", err=True)


def store_option(function: Callable[..., None]) -> Callable[..., None]:
    return click.option(
        "--store",
        "store_url",
        envvar="CAREACCESS_STORE",
        default=DEFAULT_STORE,
        show_default=True,
        show_envvar=True,
        metavar="URL",
        help="Store URL, e.g. sqlite:///careaccess.db (needs careaccess-sql) or memory://.",
    )(function)


def json_option(function: Callable[..., None]) -> Callable[..., None]:
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Print the result (or the error) as JSON, in careaccess.converter's form.",
    )(function)


def directory_option(function: Callable[..., None]) -> Callable[..., None]:
    return click.option(
        "--directory",
        envvar="CAREACCESS_DIRECTORY",
        show_envvar=True,
        metavar="FILE",
        help="A population register file (CSV or JSON Lines: personnummer, name, region, municipality) "
        "that answers name and residence look-ups.",
    )(function)


def admin(
    *, read_only: bool = False, needs_store: bool = True
) -> Callable[[Callable[..., Output]], Callable[..., None]]:
    """Give a command ``--store``, ``--directory``, ``--json`` and ``--actor``; open the store; print.

    :param read_only: the command changes nothing, so it refuses to create a missing store.
    :param needs_store: False for a command that only asks the plugins (``lookup``): it
        runs on an empty ``memory://`` store unless the :class:`Environment` gives one.
    """

    def decorate(function: Callable[..., Output]) -> Callable[..., None]:
        @store_option
        @directory_option
        @json_option
        @click.option(
            "--actor",
            "actor_id",
            envvar="CAREACCESS_ACTOR",
            default=DEFAULT_ACTOR,
            show_default=True,
            show_envvar=True,
            metavar="ID",
            help="The acting administrator's id, recorded in the event log. "
            "The actor is treated as administering the clinic acted on.",
        )
        @functools.wraps(function)
        def command(store_url: str, directory: str | None, as_json: bool, actor_id: str, **arguments: Any) -> None:
            environment = click.get_current_context().find_object(Environment) or Environment()
            try:
                url = store_url if needs_store or environment.open_access is not None else "memory://"
                with open_store(environment, url, directory=directory, read_only=read_only) as access:
                    output = function(Session(access, actor_id, directory), **arguments)
            except CareAccessError as error:
                fail(error, as_json)
            except (click.ClickException, click.exceptions.Exit, click.Abort):
                raise
            except Exception as error:
                if not as_json:
                    raise
                _fail_unexpectedly(error)
            emit(output, as_json)

        return command

    return decorate


class Group(click.Group):
    """Keeps commands in the order they are defined, so help reads like the manual."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


class _Root(Group):
    """The ``careaccess`` group: with ``--json``, usage errors are printed as JSON too."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        arguments = list(sys.argv[1:] if args is None else args)
        if not standalone_mode or "--json" not in arguments:
            return super().main(arguments, prog_name, complete_var, standalone_mode, **extra)
        try:
            result = super().main(arguments, prog_name, complete_var, False, **extra)
        except click.ClickException as error:
            message = error.format_message()
            _print_json(_error_json("usage_error", message, f"Fel i kommandoraden: {message}"))
            sys.exit(error.exit_code)
        except click.Abort:
            _print_json(_error_json("aborted", "Aborted.", "Avbrutet."))
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=_Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(careaccess.__version__, prog_name="careaccess")
def cli() -> None:
    """May a resident contact a clinic through a case type, and why (not)?

    `careaccess demo` runs the local administrator's whole workflow on an in-memory
    store. The other commands administer a real store given by --store or
    CAREACCESS_STORE. They act as the administrator named by --actor (or
    CAREACCESS_ACTOR), who is treated as administering the clinic acted on: this is an
    operator tool with direct access to the store, not an access-controlled UI.
    """

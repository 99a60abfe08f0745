"""``careaccess db``: a store's schema."""

from __future__ import annotations

import click

from careaccess.cli.app import (
    Environment,
    Group,
    Output,
    cli,
    emit,
    fail,
    json_option,
    store_option,
    with_install_hint,
)
from careaccess.errors import CareAccessError, UnknownStore


@cli.group(cls=Group)
def db() -> None:
    """Manage a store's schema."""


@db.command()
@store_option
@json_option
@click.pass_context
def upgrade(ctx: click.Context, store_url: str, as_json: bool) -> None:
    """Create or upgrade the store's schema, through the careaccess_upgrade_store hook."""
    environment = ctx.find_object(Environment) or Environment()
    try:
        description = environment.upgrade(store_url)
        if description is None:
            scheme = store_url.split(":", 1)[0]
            raise with_install_hint(
                UnknownStore(
                    "unknown_store_scheme",
                    f"No installed plugin upgrades {scheme!r} stores; install the backend package for it.",
                    f"Inget installerat tillägg uppgraderar {scheme!r}-lagringar; installera paketet för den.",
                ),
                store_url,
            )
    except CareAccessError as error:
        fail(error, as_json)
    emit(Output({"url": store_url, "description": description}, [description]), as_json)

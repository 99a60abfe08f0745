"""The ``careaccess-admin`` console script: ``serve``, ``hash-password`` and ``demo``."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path

import click
import uvicorn
from careaccess import CareAccessError, connect

from careaccess_admin.admins import AdminsFileError, hash_password, load_admins
from careaccess_admin.app import create_app
from careaccess_admin.demo import DEMO_PASSWORD, DEMO_USER, admins_toml, demo_admins, demo_residents, seed_demo
from careaccess_admin.register import RegisterFileError, read_register, write_register

__all__ = ["main"]

SECRET_ENV = "CAREACCESS_ADMIN_SECRET"  # noqa: S105 (the name of a variable, not a secret)


def _secret(path: Path | None) -> bytes | None:
    if path is not None:
        return path.read_bytes().strip()
    from_env = os.environ.get(SECRET_ENV)
    return from_env.encode() if from_env else None


@click.group()
def cli() -> None:
    """The local administrator's web UI for careaccess."""


@cli.command()
@click.option(
    "--store", "store_url", required=True, metavar="URL", help="careaccess store URL, e.g. sqlite:///care.db."
)
@click.option("--admins", "admins_file", required=True, type=click.Path(path_type=Path), help="The admins TOML file.")
@click.option(
    "--directory",
    "directory_file",
    type=click.Path(path_type=Path),
    help="A population register file (CSV or JSON Lines) for residents' names and residence.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--secret-file",
    type=click.Path(path_type=Path),
    help=f"File holding the key for cookies and handles (or ${SECRET_ENV}); default: random per start.",
)
@click.option(
    "--trusted-header", metavar="NAME", help="Single sign-on: take the admin id from this header. Off by default."
)
@click.option("--https-only", is_flag=True, help="Send the session cookie only over HTTPS.")
def serve(
    store_url: str,
    admins_file: Path,
    directory_file: Path | None,
    host: str,
    port: int,
    secret_file: Path | None,
    trusted_header: str | None,
    https_only: bool,
) -> None:
    """Serve the admin UI on HOST:PORT."""
    try:
        admins = load_admins(admins_file)
        plugins = [read_register(directory_file)] if directory_file is not None else []
        access = connect(store_url, plugins=plugins)
    except (AdminsFileError, RegisterFileError) as error:
        raise click.ClickException(str(error)) from error
    except CareAccessError as error:
        raise click.ClickException(error.message_en) from error
    app = create_app(
        access, admins, secret_key=_secret(secret_file), trusted_header=trusted_header, https_only=https_only
    )
    click.echo(f"careaccess-admin: http://{host}:{port}/", err=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        access.close()


@cli.command("hash-password")
def hash_password_command() -> None:
    """Read a password on standard input and print its argon2 hash for the admins file."""
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise click.ClickException("no password on standard input")
    click.echo(hash_password(password))


@cli.command()
@click.option(
    "--dir",
    "directory",
    default="admin-demo",
    show_default=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Where the demo's SQLite file, admins file and register file are kept.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def demo(directory: Path, host: str, port: int) -> None:
    """Start the UI on a SQLite file with demo clinics, case types and residents."""
    directory.mkdir(parents=True, exist_ok=True)
    database = directory / "demo.db"
    admins_file = directory / "admins.toml"
    register = directory / "register.csv"
    fresh = not database.exists()
    if fresh or not register.exists():
        write_register(register, demo_residents())
    if fresh or not admins_file.exists():
        admins_file.write_text(admins_toml(demo_admins()), encoding="utf-8")
    access = connect(f"sqlite:///{database}", plugins=[read_register(register)])
    if fresh:
        seed_demo(access)
    app = create_app(access, load_admins(admins_file), secret_key=secrets.token_bytes(32))
    click.echo(f"careaccess-admin demo: http://{host}:{port}/")
    click.echo(f"Log in as {DEMO_USER!r} with the password {DEMO_PASSWORD!r} (data in {directory}/).")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        access.close()


def main(args: Sequence[str] | None = None) -> None:
    """The ``careaccess-admin`` console script."""
    cli.main(args=list(args) if args is not None else None, prog_name="careaccess-admin")

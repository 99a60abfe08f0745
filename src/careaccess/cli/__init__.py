"""The ``careaccess`` command: a scripted demo and the local-administrator operations.

Admin commands work directly on a store (``--store URL`` or ``CAREACCESS_STORE``) as
the actor named by ``--actor`` (``CAREACCESS_ACTOR``), who is treated as administering
the clinic the command acts on: the command line is an operator tool, and whoever can
open the store can change it anyway. ``--directory FILE`` (``CAREACCESS_DIRECTORY``)
adds a population register file (:class:`careaccess.register.FileRegister`).

To run the commands on a store you already hold (tests, embedding), pass an
:class:`Environment` as click's ``obj``, e.g.
``cli.main(["list", "c1"], obj=Environment.sharing(access))``.

Identity numbers are printed in full, as the manual shows them to the administrator,
except in the event log listing, which shows them masked like every log (in text and
``--json`` alike; ``events --full-numbers`` shows them).

The package: :mod:`~careaccess.cli.app` (the root command, options, opening the store,
printing), :mod:`~careaccess.cli.params` (parsing values), :mod:`~careaccess.cli.render`
(text for people), :mod:`~careaccess.cli.clinics` (clinics and case types),
:mod:`~careaccess.cli.residents`, :mod:`~careaccess.cli.bulk` (many residents at once),
:mod:`~careaccess.cli.decisions` (decisions and the event log),
:mod:`~careaccess.cli.resident_side` (``clinics-for``, ``clinics``),
:mod:`~careaccess.cli.importing`, :mod:`~careaccess.cli.schema` and :mod:`~careaccess.cli.demo`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Importing the command modules registers their commands on the root group, in this
# order (the order of --help, which follows the manual).
from careaccess.cli import clinics, residents, bulk, decisions, resident_side, importing, schema  # isort: skip
from careaccess.cli.app import DEFAULT_ACTOR, DEFAULT_STORE, Environment, cli
from careaccess.cli.demo import DEMO_START, DemoClock, demo_residents, run_demo
from careaccess.cli.params import parse_rule
from careaccess.texts import CONFIRMATIONS, REASONS  # importable from here as before; careaccess.texts holds them

__all__ = [
    "CONFIRMATIONS",
    "DEFAULT_ACTOR",
    "DEFAULT_STORE",
    "DEMO_START",
    "REASONS",
    "DemoClock",
    "Environment",
    "bulk",
    "cli",
    "clinics",
    "decisions",
    "demo_residents",
    "importing",
    "main",
    "parse_rule",
    "resident_side",
    "residents",
    "run_demo",
    "schema",
]


def main(args: Sequence[str] | None = None, **extra: Any) -> None:
    """The ``careaccess`` console script; *extra* goes to click's ``Command.main`` (e.g. ``obj``)."""
    cli.main(args=list(args) if args is not None else None, prog_name="careaccess", **extra)

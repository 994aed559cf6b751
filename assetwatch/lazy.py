"""A click group whose subcommands are imported only when they are used.

Subcommands live beside the code they drive; importing them lazily keeps
``--help`` fast and spares each command the import cost of the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click

#: name -> ("module:attribute" of a click command, one-line help)
CommandTable = Mapping[str, tuple[str, str]]


class LazyGroup(click.Group):
    """Resolves ``name`` through a table of ``module:attribute`` entries on first use."""

    def __init__(
        self, *args: Any, lazy_commands: CommandTable, section: str = "Commands", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands
        self.section = section

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.lazy_commands)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = self.lazy_commands.get(cmd_name)
        if spec is None:
            return None
        module_name, attr = spec[0].split(":")
        cmd = getattr(importlib.import_module(module_name), attr)
        if not isinstance(cmd, click.Command):
            raise TypeError(f"{spec[0]} is not a click command")
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, self.lazy_commands[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section(self.section):
                formatter.write_dl(rows)

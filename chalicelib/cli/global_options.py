"""The options of the whole `containerops` command, accepted wherever a user types them.

`containerops serve --data-dir D` is how people write it, as much as `containerops
--data-dir D serve`; so each global option is an option of the group and of every command
and subgroup under it (`component add`, `tokens create` too), with the same help. Click
parses each where it stands, so a value that only looks like an option (`--param
x=--data-dir`) is never taken for one. The one typed last wins, as a repeated option does.
A new global option is one more entry in GLOBAL_OPTIONS; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from chalicelib.cli.common import LocalData
from chalicelib.config import DATA_DIR_VARIABLE

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class GlobalOption:
    """One global option: how it is declared, and what it sets in the command's LocalData."""

    name: str  # the parameter's name, as the group's callback receives it
    declarations: tuple[str, ...]
    settings: dict[str, Any]
    apply: Callable[[LocalData, Any], None]


def _set_data_dir(local: LocalData, value: Path) -> None:
    local.data_dir = value


GLOBAL_OPTIONS = (
    GlobalOption(
        "data_dir", ("--data-dir",),
        {"type": click.Path(file_okay=False, path_type=Path), "default": None,
         "help": f"Where runs and definitions are kept (default ~/.containerops, or "
                 f"${DATA_DIR_VARIABLE})."},
        _set_data_dir,
    ),
)


def global_options(group: F) -> F:
    """Declare every global option on the top group's callback (see `local_data`)."""
    for global_option in reversed(GLOBAL_OPTIONS):
        group = click.option(*global_option.declarations, global_option.name,
                             **global_option.settings)(group)
    return group


def local_data(values: dict[str, Any]) -> LocalData:
    """The LocalData the top group's global option values say."""
    local = LocalData(None)
    for global_option in GLOBAL_OPTIONS:
        if values.get(global_option.name) is not None:
            global_option.apply(local, values[global_option.name])
    return local


def accept_everywhere(group: click.Group) -> None:
    """Give every command and subgroup under `group` the global options (call it once every
    command is added): given there, each one sets what the top group would have."""
    for command in group.commands.values():
        taken = {name for param in command.params for name in getattr(param, "opts", [])}
        for global_option in GLOBAL_OPTIONS:
            if taken.isdisjoint(global_option.declarations):
                command.params.append(click.Option(
                    [*global_option.declarations, global_option.name], expose_value=False,
                    callback=_setter(global_option), **global_option.settings))
        if isinstance(command, click.Group):
            accept_everywhere(command)


def _setter(global_option: GlobalOption) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def set_where_it_counts(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is None or ctx.get_parameter_source(global_option.name) is not (
                click.core.ParameterSource.COMMANDLINE):
            return
        local = ctx.find_object(LocalData)
        if local is None:  # the command was invoked without the group (its tests do)
            local = LocalData(None)
            ctx.obj = local
            ctx.call_on_close(local.close)
        global_option.apply(local, value)

    return set_where_it_counts

"""Stage commands, declared once: an entry function's signature is its command line.

A stage module marks each rule's entry point with ``@command``; ``cli.py`` builds the
``python -m justeval <name>`` parser from the function's keyword parameters and calls
it by keyword. A parameter ``model_manifest: str`` is the option ``--model-manifest``;
``Annotated[..., Arg(...)]`` adds help, makes it positional, or parses its text:

=====================  ==========================================================
annotation             on the command line
=====================  ==========================================================
``str``, ``int``       one value (required unless the parameter has a default)
``str | None``         one value or none (``--opt`` with nothing after it: None)
``list[str]``          one or more values (``*`` if the parameter has a default)
``dict``               a JSON object (``''``: empty)
=====================  ==========================================================
"""

from __future__ import annotations

import argparse
import inspect
import json
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Arg:
    help: str = ""
    positional: bool = False
    flag: str | None = None  # the option's name when it is not the parameter's
    nargs: int | str | None = None
    choices: tuple[str, ...] | None = None
    parse: Callable[[str], object] | None = None  # text -> value


def json_object(text: str) -> dict:
    return json.loads(text) if text else {}


def layout(text: str) -> dict:
    """Settings of the cross-model files, with `models` and `benchmarks` back in
    config order (params hold canonical JSON, keys sorted; `order` keeps the order)."""
    settings = json_object(text)
    order = settings.pop("order", None)
    if order:
        for key in ("models", "benchmarks"):
            settings[key] = {name: settings[key][name] for name in order[key]}
    return settings


def command(name: str, help: str):
    """Mark a stage function as the entry point of ``python -m justeval <name>``."""

    def mark(func):
        func.command_name = name
        func.command_help = help
        return func

    return mark


def _split(annotation):
    """(base type, Arg) of an annotation."""
    if typing.get_origin(annotation) is typing.Annotated:
        base, *extras = typing.get_args(annotation)
        arg = next((e for e in extras if isinstance(e, Arg)), Arg())
        return base, arg
    return annotation, Arg()


def _optional(base) -> tuple[object, bool]:
    if typing.get_origin(base) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(base) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return base, False


def add_arguments(parser: argparse.ArgumentParser, func) -> None:
    """Options of ``func``'s command, from its signature."""
    hints = typing.get_type_hints(func, include_extras=True)
    for param in inspect.signature(func).parameters.values():
        base, arg = _split(hints[param.name])
        base, optional = _optional(base)
        has_default = param.default is not inspect.Parameter.empty
        kwargs: dict = {"help": arg.help or None}
        if arg.choices:
            kwargs["choices"] = list(arg.choices)
        if typing.get_origin(base) is list:
            kwargs["nargs"] = arg.nargs or ("*" if has_default else "+")
        elif arg.nargs:
            kwargs["nargs"] = arg.nargs
        elif optional:
            kwargs.update(nargs="?", const=None)
        if arg.parse:
            kwargs["type"] = arg.parse
        elif base is dict:
            kwargs["type"] = json_object
        elif base in (int, float):
            kwargs["type"] = base
        if has_default:
            kwargs["default"] = param.default
        if arg.positional:
            parser.add_argument(param.name, **kwargs)
        else:
            flag = arg.flag or "--" + param.name.replace("_", "-")
            parser.add_argument(flag, dest=param.name, required=not has_default, **kwargs)


def call(func, namespace: argparse.Namespace):
    """Call ``func`` with its parameters taken, by name, from the parsed command line."""
    names = inspect.signature(func).parameters
    return func(**{name: getattr(namespace, name) for name in names})

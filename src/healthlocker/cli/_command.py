"""How a command is declared: its arguments beside its handler, and a result that prints itself.

A command module declares each command with :func:`command` right above the function that runs
it; the function returns a :class:`Result`, which :func:`emit` prints as text or, with
``--json``, as its ``public()`` form. One way to shape JSON, one way to add a command.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NoReturn

Handler = Callable[[argparse.Namespace], "Result"]


class UsageError(Exception):
    """Arguments argparse cannot judge alone (say, exactly one of two): exit status 2."""


class Result:
    """What a command did. Subclasses hold the facts; ``show`` prints them for a person,
    ``public`` gives them for ``--json``; ``exit_code`` is 0 unless something failed."""

    def public(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no --json form")

    def show(self) -> None:
        raise NotImplementedError

    def exit_code(self) -> int:
        return 0


@dataclass
class Said(Result):
    """A command whose whole result is one message (an empty one prints nothing)."""

    text: str
    code: int = 0

    def public(self) -> Any:
        return {"message": self.text}

    def show(self) -> None:
        if self.text:
            print(self.text)

    def exit_code(self) -> int:
        return self.code


def emit(result: Result, as_json: bool) -> int:
    if as_json:
        print(json.dumps(result.public(), indent=2))
    else:
        result.show()
    return result.exit_code()


@dataclass(frozen=True)
class Arg:
    """One ``add_argument`` call, kept until the parser is built."""

    names: tuple[str, ...]
    options: dict[str, Any]

    def add_to(self, parser: Any) -> None:
        parser.add_argument(*self.names, **self.options)


def arg(*names: str, **options: Any) -> Arg:
    return Arg(names, options)


@dataclass(frozen=True)
class OneOf:
    """Arguments of which at most one may be given (a mutually exclusive group)."""

    args: tuple[Arg, ...]

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        group = parser.add_mutually_exclusive_group()
        for a in self.args:
            a.add_to(group)


def one_of(*args: Arg) -> OneOf:
    return OneOf(args)


JSON_FLAG = arg("--json", action="store_true", help="print a machine-readable summary")


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    run: Handler
    args: tuple[Arg | OneOf, ...] = field(default=())

    def add_to(self, sub: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(
            self.name, help=self.help, description=self.help
        )
        parser.set_defaults(command=self)
        for a in self.args:
            a.add_to(parser)
        return parser


def command(name: str, help_: str, *args: Arg | OneOf) -> Callable[[Handler], Command]:
    """Declare the command ``name`` with its arguments, above the function that runs it."""

    def wrap(run: Handler) -> Command:
        return Command(name, help_, run, tuple(args))

    return wrap


class Parser(argparse.ArgumentParser):
    """argparse, with wrong usage said in one line (and where to read more), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: a whole number from *low* to *high*."""

    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{value} is out of range: give {span}")
        return value

    return check


def iso_date(text: str) -> str:
    """An argparse ``type``: a calendar date written YYYY-MM-DD."""
    try:
        if len(text) == 10:
            return date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"not a date: {text!r}; use YYYY-MM-DD")


def add_all(sub: Any, commands: Iterable[Command]) -> None:
    for c in commands:
        c.add_to(sub)

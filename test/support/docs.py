"""The commands a Markdown document tells a user to type, read back for checking.

:func:`commands` takes the fenced ``bash`` blocks of a document apart into simple commands
(continuation lines joined, comments, ``&&``/``;``/``|`` and redirections taken off), each with the
line it starts on. The checkers here know what can be checked without running anything: an
``odet`` command line parses with odet's own argparse parser; a ``ros2 param set`` names a
parameter of that node's table; files named inside the repository exist. test_readme.py says
which checker each program gets and why the others cannot be checked.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import io
import re
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from odet_ros.cli.main import build_parser
from odet_ros.runtime.parameters import ParameterSpec

ROOT = Path(__file__).resolve().parent.parent.parent
SHELLS = ("bash", "sh", "shell", "console")
FENCE = re.compile(r"^```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^```", re.M | re.S)
INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
SEPARATORS = {"&&", "||", ";", "|", "&"}
REDIRECTIONS = {">", ">>", "<", "2>", "2>>", "&>"}
# Where a command line names the repository's own files; `src/odet_ros/...` is the same file in
# a colcon workspace's checkout.
REPOSITORY_FOLDERS = ("config", "launch", "scripts", "constraints", "bench", "docs", "test")
WORKSPACE_PREFIX = "src/odet_ros/"


@dataclass(frozen=True)
class Command:
    """One simple command of a document, as the shell would split it."""

    document: Path
    line: int
    argv: tuple[str, ...]

    @property
    def program(self) -> str:
        """The program's name without its folder (``~/ls/bin/pip`` -> ``pip``)."""
        return Path(self.argv[0]).name if self.argv else ""

    def where(self) -> str:
        return f"{self.document.name}:{self.line}: {shlex.join(self.argv)}"


@dataclass(frozen=True)
class Block:
    """A fenced code block: its language, first line number (1-based) and text."""

    language: str
    line: int
    text: str


def blocks(document: Path, languages: Sequence[str]) -> list[Block]:
    """The fenced blocks of ``document`` in one of ``languages``."""
    text = document.read_text()
    return [
        Block(m["lang"], text.count("\n", 0, m.start("body")) + 1, m["body"])
        for m in FENCE.finditer(text)
        if m["lang"] in languages
    ]


def commands(document: Path) -> list[Command]:
    """Every simple command of the document's shell blocks, in order."""
    found = []
    for block in blocks(document, SHELLS):
        for line, text in _logical_lines(block):
            found += [Command(document, line, argv) for argv in split_commands(text)]
    return found


def inline_commands(document: Path, program: str) -> list[Command]:
    """Inline code spans of the prose (outside fenced blocks) that start with ``program``."""
    text = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), document.read_text())
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for span in INLINE.findall(line):
            with contextlib.suppress(ValueError):
                argv = tuple(shlex.split(span))
                if argv and argv[0] == program:
                    found.append(Command(document, number, argv))
    return found


def _logical_lines(block: Block) -> Iterator[tuple[int, str]]:
    """Lines with their ``\\`` continuations joined, with the number of their first line."""
    pending: list[str] = []
    start = block.line
    for offset, raw in enumerate(block.text.splitlines()):
        if not pending:
            start = block.line + offset
        if raw.rstrip().endswith("\\"):
            pending.append(raw.rstrip()[:-1])
            continue
        pending.append(raw)
        yield start, " ".join(pending)
        pending = []
    if pending:
        yield start, " ".join(pending)


def split_commands(line: str) -> list[tuple[str, ...]]:
    """The simple commands of one shell line: comments, leading ``VAR=value`` assignments,
    ``sudo`` and redirections taken off."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars="&|;")
    lexer.whitespace_split = True
    found: list[tuple[str, ...]] = []
    current: list[str] = []
    for token in lexer:
        if token in SEPARATORS:
            found.append(tuple(current))
            current = []
        else:
            current.append(token)
    found.append(tuple(current))
    return [argv for argv in map(_simple, found) if argv]


def _simple(argv: tuple[str, ...]) -> tuple[str, ...]:
    words = list(argv)
    kept = []
    while words:
        word = words.pop(0)
        if word in REDIRECTIONS:
            if words:
                words.pop(0)
            continue
        kept.append(word)
    while kept and (re.fullmatch(r"[A-Za-z_]\w*=.*", kept[0]) or kept[0] == "sudo"):
        kept.pop(0)
    return tuple(kept)


# ---- checks: each returns the problems found, empty when there are none


def check_odet(argv: Sequence[str]) -> list[str]:
    """The arguments after ``odet`` parse with odet's parser (subcommands, flags, choices, the
    types of values); argparse's own message when they do not."""
    parser = build_parser()
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(list(argv))
    except SystemExit as stop:
        if stop.code:
            return [stderr.getvalue().strip().splitlines()[-1]]
    return []


def check_odet_flags(argv: Sequence[str]) -> list[str]:
    """For a fragment in prose (``odet eval --compare``): the subcommands exist and each
    ``--flag`` is one of the last subcommand's options; positionals are not checked."""
    parser = build_parser()
    path = ["odet"]
    for word in argv:
        choices = _subcommands(parser)
        if word.startswith("-"):
            name = word.split("=", 1)[0]
            if name not in parser._option_string_actions:
                return [f"{' '.join(path)} has no option {name}"]
        elif choices is not None:
            if word not in choices:
                return [f"{' '.join(path)} has no subcommand {word!r}"]
            parser = choices[word]
            path.append(word)
    return []


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser] | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return None


def check_parameter(
    node: str, name: str, value: str, tables: dict[str, dict[str, ParameterSpec]]
) -> list[str]:
    """``ros2 param set /node name value``: the node's table has the parameter, it may change
    at run time, and the value is one of its choices or within its range."""
    table = tables.get(node.strip("/").rsplit("/", 1)[-1])
    if table is None:
        return [f"no parameter table for node {node} (known: {', '.join(sorted(tables))})"]
    spec = table.get(name)
    if spec is None:
        return [f"{node} has no parameter {name!r}"]
    if spec.read_only:
        return [f"{node} parameter {name} is read-only: ros2 param set cannot change it"]
    if spec.choices and value not in spec.choices:
        return [f"{node} parameter {name}: {value!r} is not one of {', '.join(spec.choices)}"]
    if spec.low is not None and spec.high is not None:
        number = float(value)
        if not spec.low <= number <= spec.high:
            return [f"{node} parameter {name}: {value} outside {spec.low}..{spec.high}"]
    return []


def launch_arguments(argv: Sequence[str]) -> tuple[str, dict[str, str]]:
    """``ros2 launch odet_ros FILE a:=b ...``: the file's name and the arguments given."""
    _, _, package, name, *rest = argv
    if package != "odet_ros":
        raise ValueError(f"package {package!r}, not odet_ros")
    given = dict(word.split(":=", 1) for word in rest if ":=" in word)
    return name, given


def repository_paths(argv: Sequence[str]) -> list[str]:
    """The words (or values of ``a:=b`` and ``--flag=value``) that name a file of this
    repository and do not exist."""
    missing = []
    for word in argv[1:]:
        value = re.split(r":=|=", word, maxsplit=1)[-1]
        relative = value.removeprefix(WORKSPACE_PREFIX)
        inside = relative.split("/", 1)[0] in REPOSITORY_FOLDERS and "/" in relative
        if inside and not (ROOT / relative).exists():
            missing.append(f"{value}: no such file in the repository")
    return missing


def check_python(block: Block) -> list[str]:
    """A Python block compiles and each ``from odet_ros... import name`` resolves."""
    try:
        tree = ast.parse(block.text)
    except SyntaxError as error:
        return [f"line {block.line + (error.lineno or 1) - 1}: {error.msg}"]
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("odet_ros"):
            module = importlib.import_module(node.module or "")
            problems += [
                f"line {block.line + node.lineno - 1}: {node.module} has no {alias.name}"
                for alias in node.names
                if not hasattr(module, alias.name)
            ]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("odet_ros"):
                    importlib.import_module(alias.name)
    return problems

"""Errors the user can act on: the CLI prints them as one line, without a stack trace."""


class OdetError(Exception):
    """Base of every error that names the file, topic or parameter at fault."""

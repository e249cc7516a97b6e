"""The command line: argument parsing, output and exit statuses, over the engine's calls.

``main`` is the ``ccdesk`` (and ``ccdesk-cli``) entry point; ``jobs`` the job commands
(preview, run, resume, undo, runs, export, status, connect), ``inspect`` the sheet report,
``sandbox`` the local Constant Contact stand-in's command.
"""

from ccdesk.cli.main import build_parser, main

__all__ = ["build_parser", "main"]

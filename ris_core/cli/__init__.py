"""The ``ris`` command. Every subcommand is a thin layer over the library API."""

from __future__ import annotations

from ris_core.cli.app import cli, main

__all__ = ["cli", "main"]

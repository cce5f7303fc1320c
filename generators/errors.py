"""Errors raised by the generator stage, in curator's one exception family."""

from __future__ import annotations

from curator.errors import CuratorError


class GeneratorError(CuratorError):
    """A generator could not do what was asked (bad parameters, a failed render, ...)."""


class RecipeError(GeneratorError):
    """A recipe is invalid: unknown randomizer, inverted range, negative count, ..."""

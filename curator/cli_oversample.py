"""``curator oversample``: SMOTE-style rows for under-represented strata, with provenance."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from curator.cli_common import WorkspaceOpt, _errors_as_messages, console, parse_wheres
from curator.errors import CuratorError
from curator.store import open_workspace


def parse_target(text: str) -> Any:
    """``balanced`` -> imblearn's ``"auto"`` (every stratum up to the largest); a whole number
    N -> every stratum up to at least N; a fraction r in (0, 1] -> up to r x the largest."""
    if text == "balanced":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise CuratorError(f"--target must be 'balanced', a count (e.g. 200) or a fraction "
                           f"of the largest stratum (e.g. 0.5), got {text!r}") from None
    if value.is_integer() and value >= 1 and "." not in text:
        return int(value)
    if not 0 < value <= 1:
        raise CuratorError(f"--target fraction must be in (0, 1], got {text!r}")
    return value


def oversample(
    embedding: Annotated[str, typer.Argument(help="Embedding whose vectors are "
                                             "interpolated (e.g. pixels, attributes).")],
    workspace: WorkspaceOpt = Path("."),
    by: Annotated[str, typer.Option("--by", help="Strata to balance: label and binned "
                                    "attributes, e.g. 'label,pose_yaw_deg:4' (the label is "
                                    "always included).")] = "label",
    target: Annotated[str, typer.Option("--target", help="'balanced' (every stratum up to "
                                        "the largest), a count N (each stratum up to N), or "
                                        "a fraction of the largest (0.5).")] = "balanced",
    sampler: Annotated[str, typer.Option("--sampler", help="smote or borderline "
                                         "(Borderline-SMOTE 1).")] = "smote",
    k: Annotated[int, typer.Option("--k", min=1, help="Neighbours per minority sample.")] = 5,
    where: Annotated[list[str] | None, typer.Option(
        "--where", help="Only these samples take part, e.g. \"source == 'real'\" "
        "(repeatable).")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="random_state.")] = 0,
) -> None:
    """Add oversampled rows (source=oversampled, no image) for under-represented strata:
    SMOTE between neighbours of one stratum, each row with its two parents and the weight.

    Example: curator oversample pixels --by label --where "source == 'real'" -w WS
    """
    with _errors_as_messages():
        from curator.oversample import oversample_workspace, strategy_for

        ws = open_workspace(workspace)
        summary = oversample_workspace(ws, embedding, by=by, filters=parse_wheres(where),
                                       sampler=sampler, k_neighbors=k,
                                       sampling_strategy=strategy_for(parse_target(target)),
                                       random_state=seed)
        console.print(str(summary), highlight=False)


def register(app: typer.Typer) -> None:
    app.command("oversample")(oversample)

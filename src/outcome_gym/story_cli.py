"""``outcome-gym story``: one user's days under the reference and a policy (registered in cli.py).

Bad input (a folder that is neither a run nor a compare output, a user that does not exist, an
unknown spec, policy or seed, an --out that may not be written) is refused with one line and exit
code 2, before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def story(
    folder: Annotated[Path, typer.Argument(help="A compare output (with runs/) or a run folder.")],
    user: Annotated[int | None, typer.Option(help="The user's id (0 .. population - 1).")] = None,
    most_harmed: Annotated[str | None, typer.Option(
        "--most-harmed", help="Instead of --user: the user whose outcome spec (an id, or "
                              "'engagement') fell most under the policy.")] = None,
    policy: Annotated[str | None, typer.Option(
        help="The compared policy's label (default: the first).")] = None,
    seed: Annotated[int | None, typer.Option(help="The seed (default: the first; with "
                                                  "--most-harmed: every seed).")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Write story.md and story.png here (a new or empty folder, or an earlier story).")]
    = None,
    json_out: Annotated[bool, typer.Option(
        "--json", help="Print one JSON document on stdout (docs/json.md).")] = False,
    workers: Annotated[int | None, typer.Option(
        min=1, help="Processes for the two replays, this one included (default: every usable "
                    "CPU: this process replays a learner's side in full while a child replays "
                    "the reference for the user's team; 1: both in this process).")] = None,
) -> None:
    """Replay one user under the reference and the policy: day by day, events, a summary."""
    from outcome_gym._io import check_out_dir, claim_dir
    from outcome_gym.story import story_from_dir

    if out is not None:
        check_out_dir(out, "story", overwrite=True)  # refused before the replay
    st = story_from_dir(folder, user=user, most_harmed_spec=most_harmed, policy=policy,
                        seed=seed, workers=workers)
    if out is not None:
        claim_dir(out, "story", overwrite=True)
        st.write(out)
    if json_out:
        from outcome_gym.cli import _echo_json

        _echo_json("story", st.as_dict())
        return
    typer.echo(st.markdown("story.png" if out is not None else None), nl=False)
    if out is not None:
        typer.echo(f"story written to {out / 'story.md'} and {out / 'story.png'}", err=True)

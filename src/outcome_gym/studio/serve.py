"""``python -m outcome_gym.studio.serve FLAGS``: warm the page's imports, then run Streamlit.

Streamlit runs the page's script in the server process when the first browser connects; importing
outcome-gym there takes about two seconds. Importing it here, before the server starts listening,
moves that cost to start-up, so the first page renders as soon as a browser asks for it.
"""

from __future__ import annotations

import importlib
import sys

WARM = ("outcome_gym.compare", "outcome_gym.policies.registry", "outcome_gym.studio.draft",
        "outcome_gym.studio.forms", "outcome_gym.studio.jobs", "outcome_gym.studio.results",
        "streamlit")
"""What the page imports (the policies and the analysis are the bulk of it)."""


def main(flags: list[str]) -> int:
    """Import what the page needs, then serve it (``streamlit run app.py FLAGS``)."""
    for module in WARM:
        importlib.import_module(module)
    from streamlit.web import cli

    from outcome_gym.studio.launch import APP

    sys.argv = ["streamlit", "run", str(APP), *flags]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

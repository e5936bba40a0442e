"""The designer studio: an offline page to edit a scenario, try policy ideas and read the verdict.

``outcome-gym studio [SCENARIO]`` starts it (Streamlit, bound to localhost, no usage statistics, no
deploy menu). The page is a thin layer over four pure modules, each tested without a browser:
:mod:`~outcome_gym.studio.draft` (check a scenario's text, keep the designer's drafts),
:mod:`~outcome_gym.studio.forms` (the form tables <-> the scenario's data),
:mod:`~outcome_gym.studio.jobs` (a comparison run in the background through ``outcome-gym compare``,
cached by content, with progress and cancel) and :mod:`~outcome_gym.studio.results` (a finished
comparison folder read back for the page). Everything the studio writes goes under one work folder
(``--workdir``, default ``~/.cache/outcome-gym/studio``).
"""

from outcome_gym.studio.launch import launch, streamlit_command

__all__ = ["launch", "streamlit_command"]

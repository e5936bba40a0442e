"""``python -m outcome_gym``: the same command line as ``outcome-gym``."""

from outcome_gym.cli import main

if __name__ == "__main__":
    main()

"""``sb3``: a trained Stable-Baselines3 agent replayed as an outcome-gym policy.

The agent must have been trained on variant actions and a flat observation (the variant ids or
:func:`outcome_gym.env.make_flat_env`) for a population of the same size and scenario product. Each
step the policy encodes the :class:`~outcome_gym.sim.interface.Observation` exactly as the env does
(flattened with Gymnasium's ``flatten`` for ``observation="flat"``, or the per-segment
:func:`~outcome_gym.env.wrappers.summary_observation` for ``observation="summary"``), normalises it
with the training run's ``VecNormalize`` statistics when there are any, asks the agent for a variant
action and maps it to layouts and sends with the same
:func:`~outcome_gym.env.wrappers.variants_to_action`.

``VecNormalize`` statistics: an agent trained behind ``VecNormalize(norm_obs=True)`` sees normalised
observations, and replaying it on raw ones gives a different (usually useless) policy. Save them
beside the model with :func:`~outcome_gym.policies.normalization.save_normalization` (``venv``,
``"agent.zip"`` -> ``agent.vecnormalize.json``, plain JSON: what ``examples/rl/train_ppo.py`` does);
with ``normalize="auto"`` (the default) the policy loads that file when it exists, or pass its path.

When to use: to compare a trained RL agent against the built-ins with ``outcome-gym compare`` and
the check machinery (paired seeds, verdicts), e.g.::

    policy = outcome_gym.policies.make("sb3", model="ppo_agent.zip")

Stable-Baselines3 (and torch) are imported only when the policy loads a model: install the ``rl``
extra. ``deterministic=False`` samples actions with SB3's own generators, seeded from the run's
policy seed through ``set_random_seed`` (which seeds torch's and NumPy's global generators).

Security: a model saved by Stable-Baselines3 is a zip whose parts are unpickled when it loads, and
unpickling can run any code. Loading a model file is running it: load only models you trained
yourself or got from someone you would let run code on your machine (docs/security.md). The
normalisation statistics are JSON, read without pickle.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from outcome_gym.errors import PolicyError
from outcome_gym.policies.base import BasePolicy
from outcome_gym.policies.normalization import ObservationNormalizer, normalize_path
from outcome_gym.sim.interface import Action, Observation, PolicyContext


class SB3Policy(BasePolicy):
    """A trained Stable-Baselines3 model acting for every user through variant actions.

    Args:
        model: A trained SB3 model object, or the path of one saved with ``model.save`` (a
            pickle inside a zip: load only your own, see the module docstring).
        algorithm: The SB3 class that loads ``model`` when it is a path (e.g. ``PPO``, ``A2C``).
        deterministic: Take the most likely action (default) instead of sampling.
        obs_normalizer: Optional callable applied to the flat observation before ``predict``
            (e.g. a ``VecNormalize``'s ``normalize_obs``); overrides ``normalize``.
        per: Who chose a variant in training: ``user``, ``segment`` or ``all`` (see
            :class:`~outcome_gym.env.wrappers.VariantActions`).
        observation: The observation the agent was trained on: ``flat`` or ``summary`` (see
            :func:`~outcome_gym.env.wrappers.make_flat_env`).
        normalize: ``auto`` (load ``VecNormalize`` statistics saved beside a model path, see
            :func:`normalize_path`, if the file exists), the path of such a file, or ``none``.
    """

    name = "sb3"

    def __init__(
        self,
        model: Any,
        algorithm: str = "PPO",
        deterministic: bool = True,
        obs_normalizer: Any = None,
        per: str = "user",
        observation: str = "flat",
        normalize: str = "auto",
    ) -> None:
        from outcome_gym.env.wrappers import OBSERVATIONS, PER

        if per not in PER:
            raise PolicyError(f"policy 'sb3': expected per to be one of {list(PER)}, got {per!r}")
        if observation not in OBSERVATIONS:
            raise PolicyError(f"policy 'sb3': expected observation to be one of "
                              f"{list(OBSERVATIONS)}, got {observation!r}")
        self.model = model
        self.algorithm = algorithm
        self.deterministic = deterministic
        self.obs_normalizer = obs_normalizer
        self.per = per
        self.observation = observation
        self.normalize = str(normalize)

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters, with the model as its path or class name (JSON-safe)."""
        model = self.model
        shown = str(model) if isinstance(model, str | Path) else type(model).__name__
        return {"model": shown, "algorithm": self.algorithm, "deterministic": self.deterministic,
                "obs_normalizer": None if self.obs_normalizer is None else "custom",
                "per": self.per, "observation": self.observation, "normalize": self.normalize}

    def reset(self, context: PolicyContext, seed: np.random.SeedSequence) -> None:
        """Load the model if needed and check it fits this population.

        Args:
            context: The run's policy context.
            seed: The policy's seed (used for SB3's generators when not deterministic).

        Raises:
            PolicyError: The model cannot be loaded, or its spaces do not match the population.
        """
        from outcome_gym.env.spaces import ObservationEncoder, observation_space
        from outcome_gym.env.wrappers import (
            choosers,
            segment_means,
            summary_size,
            variant_action_space,
        )
        from outcome_gym.product.variants import build_variants

        super().reset(context, seed)
        self.model_ = self._load()
        self.normalizer_ = self.obs_normalizer or self._load_normalizer()
        self.variants_ = build_variants(context)
        self.obs_space_ = observation_space(context)
        self.encoder_ = ObservationEncoder(context)  # its static parts built once, not per step
        self.weights_ = segment_means(context)
        flat = (spaces.flatten_space(self.obs_space_) if self.observation == "flat"
                else spaces.Box(-np.inf, np.inf, shape=(summary_size(context),)))
        _, n_groups = choosers(context, self.per)
        want_act = variant_action_space(self.variants_, n_groups)
        got_obs = getattr(self.model_.observation_space, "shape", None)
        got_act = getattr(self.model_.action_space, "nvec", None)
        if got_obs != flat.shape or got_act is None or not np.array_equal(got_act, want_act.nvec):
            got = None if got_act is None else np.ravel(got_act).tolist()
            raise PolicyError(
                f"policy 'sb3': the model expects observations of shape {got_obs} and "
                f"variant actions {got}, but this population of {context.n_users} users needs "
                f"{flat.shape} and {want_act.nvec.tolist()}; train on a population of the same "
                f"size and product"
            )
        if not self.deterministic:
            self.model_.set_random_seed(int(seed.generate_state(1)[0]))

    def act(self, observation: Observation) -> Action:
        """Encode and flatten the observation, predict a variant action, map it to an Action.

        Args:
            observation: What the product observes now.

        Returns:
            Layouts (element indices) and sends for every user.
        """
        from outcome_gym.env.wrappers import summary_observation, variants_to_action

        ctx = self.context_
        native = self.encoder_(observation)
        if self.observation == "summary":
            flat = summary_observation(native, ctx, observation.step, self.weights_)
        else:
            flat = spaces.flatten(self.obs_space_, native)
        if self.normalizer_ is not None:
            flat = np.asarray(self.normalizer_(flat), dtype=np.float32)
        choice, _ = self.model_.predict(flat, deterministic=self.deterministic)
        return variants_to_action(choice, self.variants_, ctx, self.default_notify(observation),
                                  where=f"policy 'sb3' at step {observation.step}", per=self.per)

    def _load(self) -> Any:
        if not isinstance(self.model, str | Path):
            return self.model
        cached = getattr(self, "_cache", None)
        if cached is not None and cached[0] == str(self.model):
            return cached[1]  # loaded by an earlier reset (one load per policy object)
        try:
            sb3 = import_module("stable_baselines3")
        except ImportError as exc:
            raise PolicyError("policy 'sb3' needs Stable-Baselines3: pip install "
                              "'outcome-gym[rl]' (with torch==2.13.0, the CPU build)") from exc
        cls = getattr(sb3, self.algorithm, None)
        if cls is None:
            raise PolicyError(f"policy 'sb3': unknown algorithm '{self.algorithm}' "
                              f"(expected a Stable-Baselines3 class such as PPO or A2C)")
        path = Path(self.model)
        if not path.exists() and not path.with_suffix(".zip").exists():
            raise PolicyError(f"policy 'sb3': no saved model at {path}")
        loaded = cls.load(str(path), device="cpu")
        self._cache = (str(self.model), loaded)
        return loaded

    def _load_normalizer(self) -> Any:
        """The saved normalisation statistics (:mod:`.normalization`), or ``None`` without any."""
        if self.normalize == "none":
            return None
        if self.normalize == "auto":
            if not isinstance(self.model, str | Path):
                return None  # a model object: pass obs_normalizer if it was trained normalised
            path = normalize_path(self.model)
            if not path.exists():
                return None
        else:
            path = Path(self.normalize)
            if not path.exists():
                raise PolicyError(f"policy 'sb3': no VecNormalize statistics at {path}")
        cached = getattr(self, "_norm_cache", None)
        if cached is None or cached[0] != str(path):
            self._norm_cache = (str(path), ObservationNormalizer.load(path))
        return self._norm_cache[1]

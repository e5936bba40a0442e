"""Observation statistics of a ``VecNormalize`` training run, saved as JSON and applied without SB3.

An agent trained behind Stable-Baselines3's ``VecNormalize(norm_obs=True)`` sees normalised
observations; replaying it needs the same statistics. ``VecNormalize.save`` pickles the whole
wrapper, and unpickling runs code, so outcome-gym keeps only what ``normalize_obs`` reads — the
running mean and variance, ``epsilon`` and ``clip_obs`` — in a JSON file beside the model
(:func:`normalize_path`), written by :func:`save_normalization` and applied by
:class:`ObservationNormalizer` exactly as SB3 does::

    clip((obs - mean) / sqrt(var + epsilon), -clip_obs, clip_obs)   as float32

(``VecNormalize._normalize_obs`` in stable_baselines3/common/vec_env/vec_normalize.py, 2.x).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from outcome_gym.errors import PolicyError

NORMALIZE_SUFFIX = ".vecnormalize.json"
FORMAT = "outcome-gym/vecnormalize-obs/1"


def normalize_path(model: str | Path) -> Path:
    """Where the normalisation statistics of a saved model live (beside it).

    ``agent.zip`` (or ``agent``) -> ``agent.vecnormalize.json``.
    """
    path = Path(model)
    stem = path.with_suffix("") if path.suffix == ".zip" else path
    return stem.with_name(stem.name + NORMALIZE_SUFFIX)


@dataclass(frozen=True)
class ObservationNormalizer:
    """``VecNormalize.normalize_obs`` as data: a callable on flat (Box) observations."""

    mean: np.ndarray
    var: np.ndarray
    epsilon: float
    clip_obs: float

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """The normalised observation (float32), as SB3 computes it."""
        z = (np.asarray(obs) - self.mean) / np.sqrt(self.var + self.epsilon)
        return np.clip(z, -self.clip_obs, self.clip_obs).astype(np.float32)

    @classmethod
    def from_vec_normalize(cls, venv: Any) -> ObservationNormalizer | None:
        """The statistics of a ``VecNormalize`` (``None`` when it does not normalise observations).

        Raises:
            PolicyError: Dict observations (outcome-gym's observations are flat boxes).
        """
        if not venv.norm_obs:
            return None
        if isinstance(venv.obs_rms, dict):
            raise PolicyError("expected VecNormalize statistics of a flat observation, got a dict")
        return cls(mean=np.asarray(venv.obs_rms.mean, np.float64),
                   var=np.asarray(venv.obs_rms.var, np.float64),
                   epsilon=float(venv.epsilon), clip_obs=float(venv.clip_obs))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"format": FORMAT, "mean": self.mean.tolist(), "var": self.var.tolist(),
                "epsilon": self.epsilon, "clip_obs": self.clip_obs}

    @classmethod
    def load(cls, path: Path) -> ObservationNormalizer:
        """Read and check a file written by :func:`save_normalization`.

        Raises:
            PolicyError: Not such a file (with what was expected and found).
        """
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PolicyError(f"policy 'sb3': {path} is not a JSON file of normalisation "
                              f"statistics ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            got = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise PolicyError(f"policy 'sb3': {path}: expected format {FORMAT!r}, got {got!r}")
        mean = np.asarray(data.get("mean"), dtype=np.float64)
        var = np.asarray(data.get("var"), dtype=np.float64)
        eps, clip = data.get("epsilon"), data.get("clip_obs")
        ok = (mean.ndim == 1 and var.shape == mean.shape and np.isfinite(mean).all()
              and (var >= 0).all() and isinstance(eps, float | int) and isinstance(clip, float | int)
              and math.isfinite(eps) and eps > 0 and clip > 0)
        if not ok:
            raise PolicyError(f"policy 'sb3': {path}: expected 'mean' and 'var' lists of one length "
                              f"(var >= 0) and positive 'epsilon' and 'clip_obs'")
        return cls(mean=mean, var=var, epsilon=float(eps), clip_obs=float(clip))


def save_normalization(venv: Any, model_path: str | Path) -> Path | None:
    """Write a ``VecNormalize``'s observation statistics beside the model saved at ``model_path``.

    Returns:
        The file written, or ``None`` when ``venv`` does not normalise observations.
    """
    stats = ObservationNormalizer.from_vec_normalize(venv)
    if stats is None:
        return None
    path = normalize_path(model_path)
    path.write_text(json.dumps(stats.as_dict()), encoding="utf-8")
    return path


__all__ = ["NORMALIZE_SUFFIX", "ObservationNormalizer", "normalize_path", "save_normalization"]

"""Notification delivery, opening, fatigue, template wear-out, channel trust and opt-out (step 4).

Opening (logit; source rows: pielot2018 for the ~0.2 base rate of non-messaging notifications,
pradhan2017 for the share ignored, yancey2020 for template wear, pinterest2018/linkedin for volume):

    logit p = open_base + susceptibility*appeal + open_relevance*goal_weight*relevance
              + open_receptive*receptive - open_fatigue*fatigue - open_wear*wear
              + open_trust*(channel_trust - 0.5) - 0.5*log(background/56)

A notification can only be opened by a receptive (available) user in its slot. Each delivery adds
fatigue ``f <- f + rate*(1-f)`` and one unit of wear for that template; both recover daily. Each
delivery carries an opt-out hazard ``optout_base * sent_today^optout_volume * 2*(1-channel_trust)``
that grows with the day's volume. Channel trust moves slowly: up by ``channel_trust_gain`` when an
opened notification made goal progress, down by ``channel_trust_loss`` for every ignored delivery.
A delivery to an unavailable user interrupts: it costs ``resumption_minutes`` of attention and adds
focus residue; at a breakpoint (available) it costs ``breakpoint_multiplier`` times less
(altmann2007, iqbal_bailey).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from outcome_gym.sim._rows import rowany, rowsum


@dataclass(frozen=True)
class NotificationParams:
    """The ``user_model`` coefficients of this mechanism (docs/model.md section 4.4).

    Attributes:
        open_base, open_relevance, open_receptive, open_fatigue, open_wear, open_trust: Terms of
            the open log-odds (see the module docstring).
        optout_base, optout_volume: Opt-out hazard per delivery and its growth with the day's
            volume.
        resumption_minutes, breakpoint_multiplier: Attention an interruption costs, and the share
            of it paid at a breakpoint (altmann2007, iqbal_bailey).
        channel_trust_gain, channel_trust_loss: Channel-trust drift per useful open and per
            ignored delivery (meta2022).
    """

    open_base: float
    open_relevance: float
    open_receptive: float
    open_fatigue: float
    open_wear: float
    open_trust: float
    optout_base: float
    optout_volume: float
    resumption_minutes: float
    breakpoint_multiplier: float
    channel_trust_gain: float
    channel_trust_loss: float


@dataclass(frozen=True)
class Delivery:
    """What happened to this step's notifications (N x M arrays unless noted)."""

    delivered: np.ndarray
    opened: np.ndarray
    opted_out: np.ndarray  # N x C, new opt-outs this step
    interruption_minutes: np.ndarray  # N


def deliverable(
    notify: np.ndarray, active: np.ndarray, opted_out: np.ndarray, channel_of: np.ndarray
) -> np.ndarray:
    """Sends that reach the user: the user is active and has not opted out of the channel."""
    return notify & active[:, None] & ~opted_out[:, channel_of]


def open_logit(
    um: NotificationParams,
    appeal: np.ndarray,
    susceptibility: np.ndarray,
    goal_weight: np.ndarray,
    relevance: np.ndarray,
    receptive: np.ndarray,
    fatigue: np.ndarray,
    wear: np.ndarray,
    channel_trust: np.ndarray,
    background: np.ndarray,
) -> np.ndarray:
    """Open log-odds per user and notification (N x M); see the module docstring."""
    load = -0.5 * np.log(np.maximum(background, 1e-9) / 56.0)
    return (
        um.open_base
        + susceptibility[:, None] * appeal[None, :]
        + um.open_relevance * goal_weight[:, None] * relevance
        + um.open_receptive * receptive[:, None]
        - um.open_fatigue * fatigue[:, None]
        - um.open_wear * wear
        + um.open_trust * (channel_trust - 0.5)
        + load[None, :]
    )


def deliver(
    um: NotificationParams,
    delivered: np.ndarray,
    logit: np.ndarray,
    receptive: np.ndarray,
    sent_today: np.ndarray,
    channel_trust: np.ndarray,
    channel_of: np.ndarray,
    n_channels: int,
    u_open: np.ndarray,
    u_out: np.ndarray,
) -> Delivery:
    """Draw opens and opt-outs for delivered notifications.

    Args:
        um: The mechanism's coefficients.
        delivered: N x M deliveries.
        logit: N x M open log-odds from :func:`open_logit`.
        receptive: N available flags (only receptive users open).
        sent_today: N x C deliveries so far today, including this step's.
        channel_trust: N x C.
        channel_of: M channel index per notification.
        n_channels: C.
        u_open, u_out: N x M uniforms from the ``notifications`` stream.
    """
    p_open = 1.0 / (1.0 + np.exp(-logit))
    opened = delivered & receptive[:, None] & (u_open < p_open)
    volume = sent_today[:, channel_of].astype(np.float64)
    hazard = um.optout_base * np.power(np.maximum(volume, 1.0), um.optout_volume)
    hazard = hazard * 2.0 * (1.0 - channel_trust[:, channel_of])
    out_m = delivered & ~opened & (u_out < hazard)
    opted = np.zeros((delivered.shape[0], n_channels), dtype=bool)
    for c in range(n_channels):  # loop over channels, not users
        opted[:, c] = rowany(out_m[:, channel_of == c])
    per_user = rowsum(delivered)
    minutes = um.resumption_minutes * per_user * np.where(receptive, um.breakpoint_multiplier, 1.0)
    return Delivery(
        delivered=delivered,
        opened=opened,
        opted_out=opted,
        interruption_minutes=minutes.astype(np.float64),
    )


def count_sent(sent_today: np.ndarray, delivered: np.ndarray, channel_of: np.ndarray) -> np.ndarray:
    """Add this step's deliveries to the per-channel daily counts (N x C int16, in place)."""
    for c in range(sent_today.shape[1]):  # loop over channels, not users
        sent_today[:, c] += rowsum(delivered[:, channel_of == c]).astype(np.int16)
    return sent_today


def relevance(need: np.ndarray, value_pushed: np.ndarray) -> np.ndarray:
    """N x M relevance of each notification: the user's goal urgency times its value per goal."""
    return need @ value_pushed.T


def add_fatigue(fatigue: np.ndarray, rate: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Saturating fatigue after ``count`` deliveries: f <- 1 - (1 - f)(1 - rate)^count."""
    return 1.0 - (1.0 - fatigue) * np.power(1.0 - rate, count)


def update_channel_trust(
    um: NotificationParams,
    channel_trust: np.ndarray,
    delivered: np.ndarray,
    opened: np.ndarray,
    useful: np.ndarray,
    channel_of: np.ndarray,
) -> np.ndarray:
    """Slow channel-trust drift: up per useful open, down per ignored delivery (meta2022: months)."""
    out = channel_trust.copy()
    for c in range(channel_trust.shape[1]):
        cols = channel_of == c
        gain = rowsum(opened[:, cols] & useful[:, cols])
        loss = rowsum(delivered[:, cols] & ~opened[:, cols])
        out[:, c] += (
            um.channel_trust_gain * gain * (1 - out[:, c])
            - um.channel_trust_loss * loss * out[:, c]
        )
    return np.clip(out, 0.0, 1.0)

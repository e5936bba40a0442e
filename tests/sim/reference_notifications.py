"""The notification mechanism's per-phase functions: the tests' second way into the compiled passes
a model's step runs (``notifications.Notifier``), one phase at a time on any arrays.

Moved out of ``src`` in the ninth pass (issue #18): only tests called them. Each converts its
arguments and calls the same compiled pass as the step (``send_rows``, ``logit_rows``,
``offset_rows``, ``tray_rows``, ``settle_rows``, ``trust_rows``), so there is still one
implementation of every formula; the tests hold the step to these bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from outcome_gym.sim.mechanisms.notifications import (
    NotificationParams,
    Tray,
    _logit_coef,
    channel_load,
    logit_rows,
    offset_rows,
    send_rows,
    settle_rows,
    tray_rows,
    trust_rows,
    volume_hazard,
)


@dataclass(frozen=True)
class Sending:
    """This step's sends as they reach the users (:func:`send`).

    Attributes:
        delivered: N x M sends that reach the user.
        receptive: N available users with attention left (only they attend the tray).
        count: N deliveries per user (``rowsum(delivered)``, int64).
        top: 1 + the largest per-channel daily count after this step's deliveries (the length of
            the opt-out hazard's volume table :func:`tray_step` needs).
    """

    delivered: np.ndarray
    receptive: np.ndarray
    count: np.ndarray
    top: int


def send(notify: np.ndarray, active: np.ndarray, opted_out: np.ndarray, channel_of: np.ndarray,
         available: np.ndarray, attention_left: np.ndarray, sent_today: np.ndarray) -> Sending:
    """Step 4's integer and boolean work before the draws: one compiled pass (:func:`send_rows`).

    A send reaches the user when the user is active and has not opted out of its channel; each
    delivery is added to the per-channel daily count ``sent_today`` (N x C int16, in place). A user
    is receptive when available with attention left (before this step's interruption cost).

    Args:
        notify: N x M the policy's sends.
        active: N not-churned flags.
        opted_out: N x C opt-outs so far.
        channel_of: M channel index per notification.
        available: N available flags (step 3).
        attention_left: N minutes of attention left today.
        sent_today: N x C deliveries so far today (updated in place).
    """
    n, m = notify.shape
    out_delivered, receptive = np.empty((n, m), bool), np.empty(n, bool)
    count = np.empty(n, np.int64)
    top = send_rows(np.ascontiguousarray(notify, bool), np.ascontiguousarray(active, bool),
                    np.ascontiguousarray(opted_out, bool), np.ascontiguousarray(channel_of, np.int64),
                    np.ascontiguousarray(available, bool), np.ascontiguousarray(attention_left),
                    sent_today, out_delivered, receptive, count, np.zeros((n, m + 1)),
                    np.empty(n))
    return Sending(delivered=out_delivered, receptive=receptive, count=count, top=int(top))


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
    load: np.ndarray | None = None,
) -> np.ndarray:
    """Open log-odds per user and notification (N x M); see the module docstring.

    One compiled pass (:func:`logit_rows`); the channel load's ``log`` stays numpy's (M values;
    ``load``: :func:`channel_load` of ``background`` when the caller keeps it for a run).
    """
    load = channel_load(background) if load is None else load
    traits = np.result_type(susceptibility, goal_weight, fatigue, wear, channel_trust)
    dtype = np.float32 if traits == np.float32 else np.float64
    n, m = wear.shape
    out = np.empty((n, m))
    c = np.ascontiguousarray  # spelled out per argument: a generator here cost ~1 us a step
    logit_rows(float(um.open_base), float(um.open_receptive), _logit_coef(um, dtype),
               c(appeal, np.float64), c(susceptibility, dtype), c(goal_weight, dtype),
               c(fatigue, dtype), c(relevance, np.float64), c(receptive, bool), c(wear, dtype),
               c(channel_trust, dtype), np.arange(m, dtype=np.int64), c(load, np.float64), out)
    return np.negative(out, out=out)  # the pass writes minus the log-odds: an exact sign flip


def due_offset(
    um: NotificationParams, slot_hours: float, u_pos: np.ndarray, z: np.ndarray
) -> np.ndarray:
    """Steps from delivery until the user attends: floor(u + D / slot_hours), D lognormal (hours).

    Args:
        um: The mechanism's coefficients.
        slot_hours: Hours in a slot (24 / slots per day).
        u_pos: N x M uniforms, where in its slot the delivery falls.
        z: N x M standard normals of the delay (any shape, the same as ``u_pos``).

    The delay's ``exp`` is numpy's; the median's scaling, floor and cap are :func:`offset_rows`,
    entry by entry (an entry's offset does not depend on the others: the model computes every
    entry's).
    """
    spread = np.exp(um.tray_delay_sigma * z)
    u = np.ascontiguousarray(u_pos)
    out = np.empty(spread.shape, np.int32)
    t = spread.dtype.type
    offset_rows(u.reshape(-1), spread.reshape(-1), t(um.tray_delay_median_minutes / 60.0),
                t(slot_hours), t(1e6), out.reshape(-1))
    return out


def fill_tray(tray: Tray, delivered: np.ndarray, step: int, offset: np.ndarray,
              expiry: int) -> tuple[Tray, np.ndarray]:
    """Expire old entries and put this step's deliveries in; returns the tray and what lapsed.

    An entry lapses (N x M) when it reached ``expiry`` steps of age or a new delivery of the same
    template replaces it. (:func:`tray_step` with nobody receptive: nothing is attended.)
    """
    n, m = delivered.shape
    out = tray_step(None, Tray(tray.sent.copy(), tray.due.copy()), step, delivered, offset,
                    expiry, np.zeros((n, m)), np.zeros(n, bool), np.zeros((n, 1), np.int16),
                    np.ones((n, 1)), np.zeros(m, np.int64), 1, np.ones((n, m)), np.ones((n, m)))
    return out.tray, out.lapsed


def deliver(
    um: NotificationParams,
    tray: Tray,
    step: int,
    logit: np.ndarray,
    receptive: np.ndarray,
    sent_today: np.ndarray,
    channel_trust: np.ndarray,
    channel_of: np.ndarray,
    n_channels: int,
    u_open: np.ndarray,
    u_out: np.ndarray,
) -> tuple[Tray, np.ndarray, np.ndarray, np.ndarray]:
    """Draw opens and opt-outs for the tray's notifications that are due now.

    Every waiting entry whose due step has come is attended by a receptive user once: opened with
    probability sigmoid(logit), else dismissed (and the dismissal may trigger an opt-out).
    (:func:`tray_step` with no delivery and nothing expiring.)

    Args:
        um: The mechanism's coefficients.
        tray: The tray after :func:`fill_tray` (this step's deliveries are in it).
        step: The current step.
        logit: N x M open log-odds from :func:`open_logit`.
        receptive: N available flags with attention left (only they attend).
        sent_today: N x C deliveries so far today, including this step's.
        channel_trust: N x C.
        channel_of: M channel index per notification.
        n_channels: C.
        u_open, u_out: N x M uniforms from the ``notifications`` stream.

    Returns:
        The tray afterwards, and N x M opened and dismissed flags, and N x C new opt-outs.
    """
    never = np.iinfo(np.int32).max  # no entry reaches this age
    out = tray_step(um, Tray(tray.sent.copy(), tray.due.copy()), step,
                    np.zeros(logit.shape, bool), np.zeros(logit.shape, np.int32), never, logit,
                    receptive, sent_today, channel_trust, channel_of, n_channels, u_open, u_out)
    return out.tray, out.opened, out.dismissed, out.opted


@dataclass(frozen=True)
class TrayStep:
    """What :func:`tray_step` did (N x M unless noted)."""

    tray: Tray
    lapsed: np.ndarray  # expired or replaced before attending
    opened: np.ndarray
    dismissed: np.ndarray
    opted: np.ndarray  # N x C new opt-outs


def tray_step(
    um: NotificationParams | None, tray: Tray, step: int, delivered: np.ndarray,
    offset: np.ndarray, expiry: int, logit: np.ndarray, receptive: np.ndarray,
    sent_today: np.ndarray, channel_trust: np.ndarray, channel_of: np.ndarray, n_channels: int,
    u_open: np.ndarray, u_out: np.ndarray, hazard: np.ndarray | None = None,
) -> TrayStep:
    """Fill the tray with this step's deliveries, then attend what is due: one compiled pass.

    The open probability's ``exp`` and the opt-out hazard's ``power`` are whole-array numpy (so
    the bits stay numpy's); the tray's bookkeeping, the opens, dismissals and opt-outs are
    :func:`tray_rows`. ``tray`` is updated in place.

    Args:
        um: The mechanism's coefficients (``None``: for :func:`fill_tray`, where nobody is
            receptive, so nothing is attended and the zero hazard table is never read).
        tray: Every user's tray before this step's deliveries.
        step: The current step.
        delivered: N x M this step's deliveries.
        offset: N x M steps from delivery to due (:func:`due_offset`; read where delivered).
        expiry: Age in steps at which an entry lapses (:func:`expiry_slots`).
        logit, receptive, sent_today, channel_trust, channel_of, n_channels, u_open, u_out: As
            :func:`deliver` takes them (``logit`` float64).
        hazard: :func:`volume_hazard` of ``um`` with more entries than ``sent_today``'s largest
            count (a caller's table kept for a run), or ``None``: computed here.
    """
    n, m = delivered.shape
    if um is None or m == 0:
        hazard = np.zeros(1)
    elif hazard is None:
        hazard = volume_hazard(um, int(sent_today.max(initial=0)) + 1)
    out = TrayStep(tray=tray, lapsed=np.empty((n, m), bool), opened=np.empty((n, m), bool),
                   dismissed=np.empty((n, m), bool), opted=np.empty((n, n_channels), bool))
    trust = np.ascontiguousarray(channel_trust)
    tray_rows(np.ascontiguousarray(delivered, dtype=bool),
              np.ascontiguousarray(offset, dtype=np.int32), int(step), int(expiry),
              np.exp(-np.ascontiguousarray(logit, dtype=np.float64)),
              np.ascontiguousarray(receptive, dtype=bool),
              np.ascontiguousarray(sent_today), hazard, trust, trust.dtype.type(1),
              np.ascontiguousarray(channel_of, dtype=np.int64),
              np.ascontiguousarray(u_open, dtype=np.float64),
              np.ascontiguousarray(u_out, dtype=np.float64), tray.sent, tray.due, out.lapsed,
              out.opened, out.dismissed, out.opted, np.empty(n, bool))
    return out


@dataclass(frozen=True)
class Effects:
    """What this step's notifications did to the users (:func:`settle`).

    Attributes:
        ignored: N x M dismissed, replaced or expired this step (an active user's only).
        interruption_minutes: N attention the deliveries cost (float64).
        fatigue, attention_left, residue: N new float32 state (fresh arrays).
        finite: Every fatigue is finite (else the model raises).
    """

    ignored: np.ndarray
    interruption_minutes: np.ndarray
    fatigue: np.ndarray
    attention_left: np.ndarray
    residue: np.ndarray
    finite: bool


def settle(um: NotificationParams, residue_size: float, sending: Sending, tray: TrayStep,
           active: np.ndarray, fatigue: np.ndarray, kept: np.ndarray, wear: np.ndarray,
           opted_out: np.ndarray, attention_left: np.ndarray, residue: np.ndarray) -> Effects:
    """The deliveries' and the tray's effects on the users: one compiled pass
    (:func:`settle_rows`).

    Per delivery, fatigue ``f <- 1 - (1 - f) * kept`` with ``kept = (1 - fatigue_rate)^count``
    (numpy's ``power``, passed in), one unit of wear for that template, and an interruption of
    ``resumption_minutes`` (times ``breakpoint_multiplier`` when receptive) spent from the day's
    attention (never below zero); a delivery to a user who is not receptive also adds focus residue
    (mechanisms/focus.py: the pass calls its ``attention_after`` and ``residue_after``). New
    opt-outs join ``opted_out``. ``wear`` and ``opted_out`` are updated in place.

    Args:
        um: The mechanism's coefficients.
        residue_size: Focus lost per distracting event (``FocusParams.residue``).
        sending: This step's :func:`send`.
        tray: This step's :func:`tray_step`.
        active: N not-churned flags (a churned user's notifications are not ``ignored``).
        fatigue, kept: N float32 fatigue and N float64 ``(1 - fatigue_rate)^count``.
        wear: N x M float32 template wear.
        opted_out: N x C opt-outs.
        attention_left, residue: N float32.
    """
    n, m = sending.delivered.shape
    f32 = np.float32
    out = Effects(ignored=np.empty((n, m), bool), interruption_minutes=np.empty(n),
                  fatigue=np.empty(n, f32), attention_left=np.empty(n, f32),
                  residue=np.empty(n, f32), finite=True)
    finite = settle_rows(float(um.resumption_minutes), float(um.breakpoint_multiplier),
                         f32(residue_size), f32(1), sending.delivered, sending.receptive,
                         sending.count, tray.lapsed, tray.dismissed, tray.opted,
                         np.ascontiguousarray(active, bool), np.ascontiguousarray(fatigue, f32),
                         np.ascontiguousarray(kept, np.float64), wear, opted_out,
                         np.ascontiguousarray(attention_left, f32),
                         np.ascontiguousarray(residue, f32), out.ignored,
                         out.interruption_minutes, out.fatigue, out.attention_left, out.residue)
    return out if finite else replace(out, finite=False)


def relevance(need: np.ndarray, value_pushed: np.ndarray) -> np.ndarray:
    """N x M relevance of each notification: the user's goal urgency times its value per goal."""
    return need @ value_pushed.T


def update_channel_trust(
    um: NotificationParams,
    channel_trust: np.ndarray,
    ignored: np.ndarray,
    opened: np.ndarray,
    useful: np.ndarray,
    channel_of: np.ndarray,
) -> np.ndarray:
    """Slow channel-trust drift: up per useful open, down per ignored one (meta2022: months).

    ``ignored`` (N x M) holds the notifications dismissed, replaced or expired this step.
    """
    trust = np.ascontiguousarray(channel_trust)
    out = np.empty_like(trust)
    trust_rows(float(um.channel_trust_gain), float(um.channel_trust_loss), trust,
               np.ascontiguousarray(ignored, bool), np.ascontiguousarray(opened, bool),
               np.ascontiguousarray(useful, bool), np.ascontiguousarray(channel_of, np.int64),
               trust.dtype.type(1), out)
    return out

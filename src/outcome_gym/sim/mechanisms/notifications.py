"""Notification delivery, the tray, opening, fatigue, template wear-out, channel trust and opt-out
(step 4).

Opening (logit; source rows: pielot2018 for the ~0.2 base rate of non-messaging notifications,
pradhan2017 for the share ignored, yancey2020 for template wear, pinterest2018/linkedin for volume):

    logit p = open_base + susceptibility*appeal + open_relevance*goal_weight*relevance
              + open_receptive*receptive - open_fatigue*fatigue - open_wear*wear
              + open_trust*(channel_trust - 0.5) - 0.5*log(background/56)

A delivered notification waits in the user's tray (one place per template: a newer delivery of the
same template replaces the older one, as a notification posted under the same tag does). The user
attends to it after a response delay ``D`` (hours) drawn at delivery,

    D = tray_delay_median_minutes / 60 * exp(tray_delay_sigma * z),   z ~ N(0, 1)   (lognormal)
    due = delivery step + floor(u + D / slot_hours),                  u ~ U(0, 1)

(``u`` places the delivery within its slot; pielot2014: notifications are typically viewed within
minutes; mehrotra2016: response times vary with content, sender and task; the lognormal form and
its two numbers are guesses within those findings). From its due step on, the first time the user is
receptive the user decides once: open with the logit below (state of that step), else dismiss it.
An entry not attended within ``tray_expiry_hours`` of its delivery expires unseen (a guess: the
product withdraws stale notifications, as Android's ``setTimeoutAfter`` does). Each delivery adds
fatigue ``f <- f + rate*(1-f)`` and one unit of wear for that template; both recover daily. Each
delivery carries an opt-out hazard ``optout_base * sent_today^optout_volume * 2*(1-channel_trust)``
that grows with the day's volume, drawn when the user dismisses it (an unseen one cannot annoy).
Channel trust moves slowly: up by ``channel_trust_gain`` when an opened notification made goal
progress, down by ``channel_trust_loss`` for every notification dismissed, replaced or expired.
A delivery to an unavailable user interrupts: it costs ``resumption_minutes`` of attention and adds
focus residue; at a breakpoint (available) it costs ``breakpoint_multiplier`` times less
(altmann2007, iqbal_bailey).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields

import numpy as np

from outcome_gym.sim._jit import compiled
from outcome_gym.sim._rows import rowsum


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
            ignored notification (meta2022).
        tray_delay_median_minutes, tray_delay_sigma: Lognormal response delay (pielot2014,
            mehrotra2016; numbers are guesses).
        tray_expiry_hours: Age at which an unattended notification leaves the tray (guess).
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
    tray_delay_median_minutes: float
    tray_delay_sigma: float
    tray_expiry_hours: float


@dataclass(frozen=True)
class Tray:
    """Every user's notification tray: one place per template (N x M int32, -1 where empty).

    Attributes:
        sent: Step the waiting notification was delivered.
        due: First step the user attends to it (delivery step plus the response delay).
    """

    sent: np.ndarray
    due: np.ndarray

    @classmethod
    def empty(cls, n: int, m: int) -> Tray:
        """No notification waiting."""
        return cls(np.full((n, m), -1, np.int32), np.full((n, m), -1, np.int32))

    @property
    def waiting(self) -> np.ndarray:
        """N x M, a notification waits in this place."""
        return self.sent >= 0


@dataclass(frozen=True)
class Delivery:
    """What happened to this step's notifications (N x M arrays unless noted).

    ``opened`` counts opens this step, from the tray, of this step's or earlier deliveries;
    ``ignored`` the notifications dismissed, replaced by a newer one or expired this step.
    """

    delivered: np.ndarray
    opened: np.ndarray
    opted_out: np.ndarray  # N x C, new opt-outs this step
    interruption_minutes: np.ndarray  # N
    ignored: np.ndarray
    delivered_count: np.ndarray  # N, rowsum(delivered): summed once a step, read by the record


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
    load: np.ndarray | None = None,
) -> np.ndarray:
    """Open log-odds per user and notification (N x M); see the module docstring.

    One compiled pass (:func:`logit_rows`); the channel load's ``log`` stays numpy's (M values;
    ``load``: :func:`channel_load` of ``background`` when the caller keeps it for a run).
    """
    load = channel_load(background) if load is None else load
    traits = (susceptibility, goal_weight, fatigue, wear, channel_trust)
    dtype = np.float32 if np.result_type(*traits) == np.float32 else np.float64
    coef = _logit_coef(um, dtype)
    n, m = wear.shape
    out = np.empty((n, m))
    logit_rows(float(um.open_base), float(um.open_receptive), coef,
               np.ascontiguousarray(appeal, np.float64), *(np.ascontiguousarray(a, dtype)
                                                          for a in traits[:3]),
               np.ascontiguousarray(relevance, np.float64), np.ascontiguousarray(receptive, bool),
               *(np.ascontiguousarray(a, dtype) for a in traits[3:]),
               np.ascontiguousarray(load, np.float64), out)
    return out


def channel_load(background: np.ndarray) -> np.ndarray:
    """The open log-odds' channel-load term per column, ``-1/2 log(max(background, 1e-9) / 56)``."""
    return -0.5 * np.log(np.maximum(background, 1e-9) / 56.0)


@functools.lru_cache(maxsize=64)
def _logit_coef(um: NotificationParams, dtype: type) -> np.ndarray:
    """The coefficients that multiply the traits in :func:`logit_rows`, cast as numpy casts a
    Python float times a float32 trait (read-only; the same array every step of a run).
    """
    coef = np.array([um.open_relevance, um.open_fatigue, um.open_wear, um.open_trust, 0.5], dtype)
    coef.setflags(write=False)
    return coef


@compiled
def logit_rows(base, receptive_u, coef, appeal, susc, goal_weight, fatigue, relevance, receptive,
               wear, trust, load, out
               ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Per user i and template m, the module docstring's sum, added left to right as numpy did.

    ::

        base + susc_i appeal_m + (rel_u goal_weight_i) relevance_im + receptive_u [receptive_i]
             - fatigue_u fatigue_i - wear_u wear_im + trust_u (trust_im - 1/2) + load_m

    ``coef`` = (rel_u, fatigue_u, wear_u, trust_u, 1/2) in the traits' dtype: their products with
    the float32 traits are float32, widened to float64 in the sum (as numpy's mixed arithmetic).
    """
    n, m = out.shape
    for i in range(n):
        gw = coef[0] * goal_weight[i]
        fat = coef[1] * fatigue[i]
        rec = receptive_u * (1.0 if receptive[i] else 0.0)
        for j in range(m):
            x = base + susc[i] * appeal[j]
            x = x + gw * relevance[i, j]
            x = x + rec
            x = x - fat
            x = x - coef[2] * wear[i, j]
            x = x + coef[3] * (trust[i, j] - coef[4])
            out[i, j] = x + load[j]


def expiry_slots(um: NotificationParams, slot_hours: float) -> int:
    """Steps a notification may wait before it expires (at least 1: its own slot)."""
    return max(1, int(np.ceil(um.tray_expiry_hours / slot_hours - 1e-9)))


def due_offset(
    um: NotificationParams, slot_hours: float, u_pos: np.ndarray, z: np.ndarray
) -> np.ndarray:
    """Steps from delivery until the user attends: floor(u + D / slot_hours), D lognormal (hours).

    Args:
        um: The mechanism's coefficients.
        slot_hours: Hours in a slot (24 / slots per day).
        u_pos: N x M uniforms, where in its slot the delivery falls.
        z: N x M standard normals of the delay.
    """
    hours = um.tray_delay_median_minutes / 60.0 * np.exp(um.tray_delay_sigma * z)
    steps = np.floor(u_pos + np.minimum(hours / slot_hours, 1e6))
    return steps.astype(np.int32)


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
    u_open: np.ndarray, u_out: np.ndarray,
) -> TrayStep:
    """Fill the tray with this step's deliveries, then attend what is due: one compiled pass.

    The open probability and the opt-out hazard's volume term are whole-array numpy (their ``exp``
    and ``power`` stay numpy's, so the bits stay the same); the tray's bookkeeping, the opens,
    dismissals and opt-outs are :func:`tray_rows`. ``tray`` is updated in place.

    Args:
        um: The mechanism's coefficients (``None``: no opt-out can happen, as for
            :func:`fill_tray`).
        tray: Every user's tray before this step's deliveries.
        step: The current step.
        delivered: N x M this step's deliveries.
        offset: N x M steps from delivery to due (:func:`due_offset`; read where delivered).
        expiry: Age in steps at which an entry lapses (:func:`expiry_slots`).
        logit, receptive, sent_today, channel_trust, channel_of, n_channels, u_open, u_out: As
            :func:`deliver` takes them.
    """
    n, m = delivered.shape
    p_open = 1.0 / (1.0 + np.exp(-logit))
    if um is None or m == 0:
        volume_hazard = np.zeros(1)
    else:  # optout_base * max(volume, 1)^optout_volume, one entry per possible volume
        top = int(sent_today.max(initial=0)) + 1
        volume_hazard = um.optout_base * np.power(
            np.maximum(np.arange(top, dtype=np.float64), 1.0), um.optout_volume)
    out = TrayStep(tray=tray, lapsed=np.zeros((n, m), bool), opened=np.zeros((n, m), bool),
                   dismissed=np.zeros((n, m), bool), opted=np.zeros((n, n_channels), bool))
    distrust = 1.0 - channel_trust  # in the trust's own dtype, as the hazard always took it
    tray_rows(np.ascontiguousarray(delivered, dtype=bool),
              np.ascontiguousarray(offset, dtype=np.int32), int(step), int(expiry),
              np.ascontiguousarray(p_open, dtype=np.float64),
              np.ascontiguousarray(receptive, dtype=bool),
              np.ascontiguousarray(sent_today, dtype=np.int64), volume_hazard,
              np.ascontiguousarray(distrust, dtype=np.float64),
              np.ascontiguousarray(channel_of, dtype=np.int64),
              np.ascontiguousarray(u_open, dtype=np.float64),
              np.ascontiguousarray(u_out, dtype=np.float64), um is not None,
              tray.sent, tray.due, out.lapsed, out.opened, out.dismissed, out.opted)
    return out


def compile_kernel() -> None:
    """Compile (or load from the cache) :func:`tray_rows` and :func:`logit_rows` now (see
    engagement.compile_kernel), the latter for the population's float32 traits.
    """
    fill_tray(Tray.empty(1, 1), np.ones((1, 1), bool), 0, np.zeros((1, 1), np.int32), 1)
    count_sent(np.zeros((1, 1), np.int16), np.ones((1, 1), bool), np.zeros(1, np.int64))
    update_channel_trust(NotificationParams(**{f.name: 0.0 for f in fields(NotificationParams)}),
                         np.ones((1, 1), np.float32), np.ones((1, 1), bool), np.ones((1, 1), bool),
                         np.ones((1, 1), bool), np.zeros(1, np.int64))
    f32, one = np.float32, np.ones(1)
    open_logit(NotificationParams(**{f.name: 0.0 for f in fields(NotificationParams)}), one,
               one.astype(f32), one.astype(f32), np.ones((1, 1)), np.ones(1, bool),
               one.astype(f32), np.ones((1, 1), f32), np.ones((1, 1), f32), one)


@compiled
def tray_rows(delivered, offset, step, expiry, p_open, receptive, sent_today, volume_hazard,
              distrust, channel_of, u_open, u_out, can_opt_out,
              sent, due, lapsed, opened, dismissed, opted
              ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Per user and template (module docstring), writing ``sent``, ``due`` and the flags.

    ::

        lapsed    = waiting and (step - sent >= expiry or delivered now)
        sent, due = (step, step + offset) if delivered, else unchanged if still waiting, else -1
        attend    = waiting and due <= step and receptive
        opened    = attend and u_open < p_open;   dismissed = attend and not opened
        opt out   = dismissed and u_out < volume_hazard[sent_today] * 2 * distrust  (its channel)

    Attended entries leave the tray (sent = due = -1).
    """
    n, m = delivered.shape
    for i in range(n):
        for j in range(m):
            waiting = sent[i, j] >= 0
            lapse = waiting and ((step - sent[i, j]) >= expiry or delivered[i, j])
            lapsed[i, j] = lapse
            if delivered[i, j]:
                sent[i, j] = step
                due[i, j] = step + offset[i, j]
            elif lapse or not waiting:
                sent[i, j] = -1
                due[i, j] = -1
            if not (sent[i, j] >= 0 and due[i, j] <= step and receptive[i]):
                continue
            sent[i, j] = -1
            due[i, j] = -1
            if u_open[i, j] < p_open[i, j]:
                opened[i, j] = True
                continue
            dismissed[i, j] = True
            c = channel_of[j]
            if can_opt_out and u_out[i, j] < volume_hazard[sent_today[i, c]] * 2.0 * distrust[i, c]:
                opted[i, c] = True


def interruption(um: NotificationParams, delivered: np.ndarray,
                 receptive: np.ndarray, per_user: np.ndarray | None = None) -> np.ndarray:
    """N minutes of attention this step's deliveries cost (less at a breakpoint); ``per_user``:
    ``rowsum(delivered)`` when the caller has it.
    """
    per_user = rowsum(delivered) if per_user is None else per_user
    return (um.resumption_minutes * per_user
            * np.where(receptive, um.breakpoint_multiplier, 1.0)).astype(np.float64)


def count_sent(sent_today: np.ndarray, delivered: np.ndarray, channel_of: np.ndarray) -> np.ndarray:
    """Add this step's deliveries to the per-channel daily counts (N x C int16, in place; one
    compiled pass, :func:`count_rows`).
    """
    count_rows(sent_today, np.ascontiguousarray(delivered, dtype=bool),
               np.ascontiguousarray(channel_of, dtype=np.int64))
    return sent_today


@compiled
def count_rows(sent_today, delivered, channel_of
               ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """``sent_today[i, channel_of[j]] += 1`` per delivery (i, j): integer counts, in place."""
    n, m = delivered.shape
    for i in range(n):
        for j in range(m):
            if delivered[i, j]:
                sent_today[i, channel_of[j]] += 1


def relevance(need: np.ndarray, value_pushed: np.ndarray) -> np.ndarray:
    """N x M relevance of each notification: the user's goal urgency times its value per goal."""
    return need @ value_pushed.T


def add_fatigue(fatigue: np.ndarray, rate: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Saturating fatigue after ``count`` deliveries: f <- 1 - (1 - f)(1 - rate)^count."""
    return 1.0 - (1.0 - fatigue) * np.power(1.0 - rate, count)


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


@compiled
def trust_rows(gain_u, loss_u, trust, ignored, opened, useful, channel_of, one, out
               ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Channel trust per user and channel c (g useful opens, l ignored notifications of c).

    ::

        t <- clip(t + (gain_u g (1 - t) - loss_u l t), 0, 1)

    the increment in float64, rounded to the trust's dtype once added (as numpy's in-place add
    of a float64 increment to float32 trust); ``one`` is 1 in that dtype.
    """
    n, c_n = trust.shape
    m_n = channel_of.shape[0]
    for i in range(n):
        for c in range(c_n):
            g = 0
            lost = 0
            for m in range(m_n):
                if channel_of[m] != c:
                    continue
                if opened[i, m] and useful[i, m]:
                    g += 1
                if ignored[i, m]:
                    lost += 1
            t = trust[i, c]
            v = t + (gain_u * g * (one - t) - loss_u * lost * t)
            # clipped before the rounding to float32 (numpy rounded first): the same value,
            # since rounding is monotone and 0 and 1 are exact
            out[i, c] = min(max(v, 0.0), 1.0)

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
from typing import NamedTuple

import numpy as np

from outcome_gym.sim._jit import compiled, pass_array
from outcome_gym.sim.mechanisms.focus import attention_after, residue_after


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


class Delivery(NamedTuple):
    """What happened to this step's notifications (N x M arrays unless noted).

    ``opened`` counts opens this step, from the tray, of this step's or earlier deliveries;
    ``ignored`` the notifications dismissed, replaced by a newer one or expired this step.
    ``delivered`` and ``opened`` are fresh arrays (the next observation shows them); the others
    are :class:`Notifier`'s buffers, valid until the next step. (A named tuple: built every step,
    it costs a third of a frozen dataclass.)
    """

    delivered: np.ndarray
    opened: np.ndarray
    opted_out: np.ndarray  # N x C, new opt-outs this step
    interruption_minutes: np.ndarray  # N
    ignored: np.ndarray
    delivered_count: np.ndarray  # N, delivered summed per user once a step, read by the record
    opened_any: np.ndarray  # N, opened.any(1): who opened one (they start a session)


@compiled.inlined  # copied into send_logit_rows (no second compilation)
def send_rows(notify, active, opted_out, channel_of, available, attention_left, sent_today,
              delivered, receptive, count, powers, kept
              ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Per user i and notification j (step 4's deliveries); returns 1 + max of ``sent_today`` after.

    ::

        delivered[i, j]  = notify[i, j] and active[i] and not opted_out[i, channel_of[j]]
        sent_today[i, c] += delivered deliveries on channel c      (integer counts, in place)
        count[i]         = sum_j delivered[i, j]
        kept[i]          = powers[i, count[i]]            (the fatigue's (1 - rate_i)^count_i)
        receptive[i]     = available[i] and attention_left[i] > 0

    (``powers``: :func:`keep_powers`, the run's table of numpy's ``power`` for every count a
    step can reach: looked up, not computed again every step.)
    """
    n, m = notify.shape
    top = 0
    for i in range(n):
        k = 0
        for j in range(m):
            c = channel_of[j]
            d = notify[i, j] and active[i] and not opted_out[i, c]
            delivered[i, j] = d
            if d:
                sent_today[i, c] += 1
                k += 1
        count[i] = k
        kept[i] = powers[i, k]
        receptive[i] = available[i] and attention_left[i] > 0
        for c in range(sent_today.shape[1]):
            top = max(top, sent_today[i, c])
    return top + 1


def channel_load(background: np.ndarray) -> np.ndarray:
    """The open log-odds' channel-load term per column, ``-1/2 log(max(background, 1e-9) / 56)``."""
    return -0.5 * np.log(np.maximum(background, 1e-9) / 56.0)


def keep_powers(keep_base: np.ndarray, m: int) -> np.ndarray:
    """N x (M + 1) ``keep_base[i] ** k`` for k = 0..M (a step's deliveries to a user number at
    most M): the fatigue's kept share for every count, numpy's ``power`` on float64.

    Computed once a run, on contiguous rows as the step's ``power`` of N bases and N counts
    took them: numpy's ``power`` gives each entry the same bits wherever it sits (its SIMD
    loop's lanes and tail compute alike; tests/sim/test_tray_trust.py holds the table to a
    per-step ``power`` of random counts and of every count at every position). A step looks its
    users' counts up (:func:`send_rows`) instead of calling ``power`` (~0.9 us a step at N = 200).
    """
    n, k = keep_base.shape[0], m + 1
    count = np.empty((n, k))
    count[:] = np.arange(k, dtype=np.float64)
    return np.power(np.repeat(keep_base, k).reshape(n, k), count)


@functools.lru_cache(maxsize=64)
def _logit_coef(um: NotificationParams, dtype: type) -> np.ndarray:
    """The coefficients that multiply the traits in :func:`logit_rows`, cast as numpy casts a
    Python float times a float32 trait (read-only; the same array every step of a run).
    """
    coef = np.array([um.open_relevance, um.open_fatigue, um.open_wear, um.open_trust, 0.5], dtype)
    coef.setflags(write=False)
    return coef


@compiled.inlined  # copied into send_logit_rows (no second compilation)
def logit_rows(base, receptive_u, coef, appeal, susc, goal_weight, fatigue, relevance, receptive,
               wear, trust, channel_of, load, out
               ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Per user i and template m, minus the module docstring's sum, added left to right as numpy
    did, into ``out`` (what the open probability's ``exp`` takes; the negation is an exact sign
    flip, as numpy's ``negative``); returns whether every log-odds is finite.

    ::

        base + susc_i appeal_m + (rel_u goal_weight_i) relevance_im + receptive_u [receptive_i]
             - fatigue_u fatigue_i - wear_u wear_im + trust_u (trust_im - 1/2) + load_m

    ``coef`` = (rel_u, fatigue_u, wear_u, trust_u, 1/2) in the traits' dtype: their products with
    the float32 traits are float32, widened to float64 in the sum (as numpy's mixed arithmetic).
    ``trust_im`` is ``trust[i, channel_of[m]]`` (N x C channel trust, or N x M with
    ``channel_of = 0..M-1``).
    """
    n, m = out.shape
    finite = True
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
            x = x + coef[3] * (trust[i, channel_of[j]] - coef[4])
            x = x + load[j]
            finite &= (x - x) == 0.0  # 0 for a finite x, NaN for an inf or a NaN
            out[i, j] = -x
    return finite


@compiled
def send_logit_rows(notify, active, opted_out, available, attention_left, sent_today, delivered,
                    susc, goal_weight, fatigue, wear, trust, residue, carry, z, fixed
                    ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """A model's step up to the ``exp`` of the open probability and of the delays, in one call:
    the residue's fade, the sends, the open log-odds and the delays' exponents.

    The last slot's focus residue fades (``residue *= carry``, in residue's dtype: ``carry``
    given in it, as numpy's in-place product with a Python float), then :func:`send_rows`,
    then :func:`logit_rows` on the receptive flags it wrote (both copied in by numba), then the
    delays' exponents ``spread = z * sigma`` (the tray's normals times its sigma: float32, as
    numpy's product); returns ``send_rows``' 1 + max of ``sent_today`` and whether every
    log-odds is finite.

    ``fixed``: what is the same object every step of a run (:class:`Notifier`'s), ``(channel_of,
    receptive, count, powers, kept, base, receptive_u, coef, appeal, relevance, load, out, sigma,
    spread)`` (numba unboxes a tuple's arrays for less than as many arguments). One call, not
    two: nothing numpy computes sits between them (the relevance product is taken before), and
    a call in a step costs ~3 us (docs/performance.md, ninth pass).
    """
    (channel_of, receptive, count, powers, kept, base, receptive_u, coef, appeal, relevance, load,
     out, sigma, spread) = fixed
    for i in range(residue.shape[0]):
        residue[i] = residue[i] * carry
    top = send_rows(notify, active, opted_out, channel_of, available, attention_left, sent_today,
                    delivered, receptive, count, powers, kept)
    finite = logit_rows(base, receptive_u, coef, appeal, susc, goal_weight, fatigue, relevance,
                        receptive, wear, trust, channel_of, load, out)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            spread[i, j] = z[i, j] * sigma
    return top, finite


def expiry_slots(um: NotificationParams, slot_hours: float) -> int:
    """Steps a notification may wait before it expires (at least 1: its own slot)."""
    return max(1, int(np.ceil(um.tray_expiry_hours / slot_hours - 1e-9)))


@compiled.inlined  # copied into a step's pass (no second compilation)
def offset_rows(u_pos, spread, median_hours, slot_hours, cap, out
                ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """``out = int32(floor(u_pos + min(hours / slot_hours, cap)))`` entry by entry, with the delay
    ``hours = median_hours * spread`` (``spread = exp(sigma z)``, numpy's) and ``median_hours``,
    ``slot_hours`` and ``cap`` in the delay's dtype (as numpy takes a Python scalar: float32 delays
    are scaled, divided, capped and added in float32). ``min`` as ``np.minimum``: a NaN stays NaN.
    """
    for k in range(out.shape[0]):
        x = median_hours * spread[k] / slot_hours
        if x > cap:
            x = cap
        out[k] = np.floor(u_pos[k] + x)


def volume_hazard(um: NotificationParams, top: int) -> np.ndarray:
    """The opt-out hazard's volume term for each day's volume ``0..top-1`` on a channel,
    ``optout_base * max(volume, 1)^optout_volume`` (numpy's ``power``: entry k is the same bits
    whatever ``top``).
    """
    return um.optout_base * np.power(np.maximum(np.arange(top, dtype=np.float64), 1.0),
                                     um.optout_volume)


def compile_kernel() -> None:
    """Compile (or load from the cache) the passes a step runs now (see
    engagement.compile_kernel): those of :meth:`Notifier.step` (:func:`send_logit_rows`,
    :func:`deliver_rows`), for the population's dtypes
    (float32 traits and state, int16 daily counts, int32 tray); channel trust's
    :func:`trust_rows` is compiled into engagement's ``commit_rows``.
    """
    um = NotificationParams(**{f.name: 0.0 for f in fields(NotificationParams)})
    f32, yes = np.float32, np.ones((1, 1), bool)
    one, ch = np.ones(1, f32), np.zeros(1, np.int64)
    notifier = Notifier(um, 0.0, np.ones(1), np.ones((1, 1)), np.zeros(1), ch,
                        volume_hazard(um, 2), 1, 1.0, one, 1)
    notifier.step(0, yes, np.ones(1, bool), np.ones((1, 1)), np.ones((2, 1, 1)),
                  np.ones((1, 1), f32), np.ones((1, 1), f32), np.ones(1, bool),
                  np.zeros((1, 1), bool), one.copy(), np.zeros((1, 1), np.int16), one, one,
                  one.copy(), np.ones((1, 1), f32), np.ones((1, 1), f32),
                  np.full((1, 1), -1, np.int32), np.full((1, 1), -1, np.int32), one.copy(),
                  f32(1))


@compiled.inlined  # copied into a step's pass (no second compilation)
def tray_rows(delivered, offset, step, expiry, exp_neg_logit, receptive, sent_today,
              volume_hazard, channel_trust, one, channel_of, u_open, u_out, sent, due, lapsed,
              opened, dismissed, opted, opened_any
              ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Per user and template (module docstring), writing ``sent``, ``due`` and the flags, and
    per user ``opened_any`` (any of the row's ``opened``: what session start reads).

    ::

        lapsed    = waiting and (step - sent >= expiry or delivered now)
        sent, due = (step, step + offset) if delivered, else unchanged if still waiting, else -1
        attend    = waiting and due <= step and receptive
        opened    = attend and u_open < p_open,   p_open = 1 / (1 + exp(-logit))
        dismissed = attend and not opened
        opt out   = dismissed and u_out < volume_hazard[sent_today] * 2 * (1 - channel_trust)

    (the last two on the notification's channel; ``1 - channel_trust`` in the trust's dtype,
    ``one`` being 1 in it, as numpy's whole-array subtraction took it). Attended entries leave the
    tray (sent = due = -1). ``p_open`` is numpy's ``1.0 / (1.0 + e)`` on numpy's ``e``: two IEEE
    operations, the same bits here.
    """
    n, m = delivered.shape
    for i in range(n):
        for c in range(opted.shape[1]):
            opted[i, c] = False
        opened_any[i] = False
        for j in range(m):
            opened[i, j] = False
            dismissed[i, j] = False
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
            if u_open[i, j] < 1.0 / (1.0 + exp_neg_logit[i, j]):
                opened[i, j] = True
                opened_any[i] = True
                continue
            dismissed[i, j] = True
            c = channel_of[j]
            if u_out[i, j] < volume_hazard[sent_today[i, c]] * 2.0 * (one - channel_trust[i, c]):
                opted[i, c] = True


@compiled.inlined  # copied into a step's pass (no second compilation)
def settle_rows(resumption, breakpoint, residue_size, one, delivered, receptive, count, lapsed,
                dismissed, opted, active, fatigue, kept, wear, opted_out, attention_left,
                residue, ignored, minutes, fatigue_out, attention_out, residue_out
                ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """Per user i, the deliveries' and the tray's effects: the float work in numpy's dtypes and
    order; returns whether every fatigue is finite.

    ::

        ignored[i, j]  = (lapsed or dismissed) and active[i];   wear[i, j] += delivered[i, j]
        opted_out     |= opted
        minutes[i]     = resumption * count[i] * (breakpoint if receptive[i] else 1)      (float64)
        fatigue[i]     = f32(1 - (1 - f) * kept[i])      (1 - f in float32, the rest in float64)
        attention[i]   = f32(max(attention - minutes, 0))                                 (float64)
        residue[i]     = r + size (1 - r)  if count[i] > 0 and not receptive[i], else r   (float32)

    ``one`` and ``residue_size`` are float32, so the float32 operations stay float32 (numpy's
    Python-float scalars take the array's dtype). ``max(x, 0)`` is written as numpy's ``maximum``
    answers it: a NaN stays NaN, -0.0 gives +0.0.
    """
    n, m = delivered.shape
    finite = True
    for i in range(n):
        for j in range(m):
            ignored[i, j] = (lapsed[i, j] or dismissed[i, j]) and active[i]
            if delivered[i, j]:
                wear[i, j] += one
        for c in range(opted.shape[1]):
            if opted[i, c]:
                opted_out[i, c] = True
        x = resumption * count[i] * (breakpoint if receptive[i] else 1.0)
        minutes[i] = x
        fatigue_out[i] = 1.0 - (one - fatigue[i]) * kept[i]
        if not np.isfinite(fatigue_out[i]):
            finite = False
        attention_out[i] = attention_after(attention_left[i], x)
        r = residue[i]
        if count[i] > 0 and not receptive[i]:  # an interruption away from a breakpoint
            r = residue_after(r, residue_size, one)
        residue_out[i] = r
    return finite


@compiled
def deliver_rows(step, u_pos, delivered, opened, u_open, u_out, volume_hazard, active, sent_today,
                 channel_trust, sent, due, fatigue, wear, opted_out, attention_left, residue, fixed
                 ):  # pragma: no cover - compiled by numba (NUMBA_DISABLE_JIT=1 runs it as Python)
    """A model's step after the draws' ``exp``, in one call: :func:`offset_rows` (every entry's
    delay, N x M), :func:`tray_rows` and :func:`settle_rows` (``fatigue``, ``attention_left``
    and ``residue`` updated in place; ``one``: 1 in the population's float dtype, its trust's
    and traits'); returns whether every fatigue is finite.

    ``fixed``: what is the same object every step of a run (:class:`Notifier`'s: its numbers
    and buffers), ``(spread, median_hours, slot_hours, cap, offset, expiry, exp_neg_logit,
    receptive, one, channel_of, lapsed, dismissed, opted, resumption, breakpoint, residue_size,
    count, kept, ignored, minutes, opened_any)`` (numba unboxes a tuple's arrays for less than
    as many arguments).

    The three are copied in whole (numba's ``inline``), not per user: a per-row helper taking
    arrays pays the arrays' reference counting at every row (3x slower at N = 200).
    """
    (spread, median_hours, slot_hours, cap, offset, expiry, exp_neg_logit, receptive, one,
     channel_of, lapsed, dismissed, opted, resumption, breakpoint, residue_size, count, kept,
     ignored, minutes, opened_any) = fixed
    offset_rows(u_pos.reshape(-1), spread.reshape(-1), median_hours, slot_hours, cap,
                offset.reshape(-1))
    tray_rows(delivered, offset, step, expiry, exp_neg_logit, receptive, sent_today,
              volume_hazard, channel_trust, one, channel_of, u_open, u_out, sent, due, lapsed,
              opened, dismissed, opted, opened_any)
    return settle_rows(resumption, breakpoint, residue_size, one, delivered, receptive, count,
                       lapsed, dismissed, opted, active, fatigue, kept, wear, opted_out,
                       attention_left, residue, ignored, minutes, fatigue, attention_left,
                       residue)


@compiled.inlined  # copied into a step's pass (no second compilation)
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


class Notifier:
    """Step 4 of one run: its fixed inputs and the buffers each step overwrites.

    A step makes two compiled calls, on arrays already in their dtypes, with numpy's
    whole-array work around them (the relevance product before, the ``exp`` of the open
    probability and of the delays between; the fatigue's ``power`` is the run's table,
    :func:`keep_powers`):
    :func:`send_logit_rows` (:func:`send_rows` and :func:`logit_rows`), then
    :func:`deliver_rows`, which runs :func:`offset_rows`, :func:`tray_rows` and
    :func:`settle_rows` (each copied into its caller by numba, so compiled once, not beside it). The tests
    hold it to the per-phase functions of tests/sim/reference_notifications.py.
    Not one call for the step: the ``exp`` stays numpy's. The state arrays a step
    is given are the population's (float32 traits and state, int16 daily counts, int32 tray,
    bool flags), updated in place.

    Args:
        um: The mechanism's coefficients.
        residue_size: Focus lost per distracting event (``FocusParams.residue``).
        appeal: M appeal of each template's element.
        value: M x G value per goal of each template's element.
        load: M the open log-odds' channel-load term (:func:`channel_load`).
        channel_of: M channel index per template.
        hazard: :func:`volume_hazard` for every daily count a day allows.
        expiry: :func:`expiry_slots`.
        slot_hours: Hours in a slot.
        fatigue_rate: N fatigue added per delivery (a trait, fixed for the run; its dtype is the
            population's: the traits', fatigue's, wear's and channel trust's).
        n_channels: C.
    """

    def __init__(self, um: NotificationParams, residue_size: float, appeal: np.ndarray,
                 value: np.ndarray, load: np.ndarray, channel_of: np.ndarray,
                 hazard: np.ndarray, expiry: int, slot_hours: float, fatigue_rate: np.ndarray,
                 n_channels: int) -> None:
        n, dtype = fatigue_rate.shape[0], fatigue_rate.dtype
        m = channel_of.shape[0]
        f = np.dtype(dtype).type
        self.um = um
        # relevance = need @ value.T (C-ordered: BLAS takes a third less time; it packs its
        # operands, so the same numbers)
        self._value_t = np.ascontiguousarray(value.T, np.float64)
        self._channel_of = pass_array(channel_of, np.int64)
        self._hazard = pass_array(hazard, np.float64)
        self._expiry = int(expiry)
        # the delay's numbers (its sigma; median hours, slot hours and cap in _deliver_fixed) in
        # the draws' dtype (float32), as numpy applies Python scalars
        self._sigma = np.float32(um.tray_delay_sigma)
        self._shape = (n, m)
        # what a step computes and reads within the step (Delivery's ignored, opted_out,
        # interruption_minutes and delivered_count too: valid until the next step)
        self._relevance, self._exp_neg = np.empty((n, m)), np.empty((n, m))
        self._spread = np.empty((n, m), np.float32)
        self._offset = np.empty((n, m), np.int32)
        self._lapsed, self._dismissed, self._ignored = (np.empty((n, m), bool) for _ in range(3))
        self._opted = np.empty((n, n_channels), bool)
        self._receptive = np.empty(n, bool)
        self._count = np.empty(n, np.int64)
        # the fatigue power's base (a trait: fixed), float64 as numpy's power cast it, raised to
        # every count a step can reach once a run
        powers = keep_powers((1.0 - fatigue_rate).astype(np.float64), m)
        self._kept, self._minutes = np.empty(n), np.empty(n)
        self._opened_any = np.empty(n, bool)
        # the passes' arguments that are the same objects every step (their ``fixed``: the
        # numbers are built here only)
        self._open_fixed = (self._channel_of, self._receptive, self._count, powers, self._kept,
                            float(um.open_base), float(um.open_receptive),
                            _logit_coef(um, dtype), pass_array(appeal, np.float64),
                            self._relevance, pass_array(load, np.float64), self._exp_neg,
                            self._sigma, self._spread)
        one = f(1)
        self._deliver_fixed = (self._spread, np.float32(um.tray_delay_median_minutes / 60.0),
                               np.float32(slot_hours), np.float32(1e6), self._offset,
                               self._expiry, self._exp_neg, self._receptive, one,
                               self._channel_of, self._lapsed, self._dismissed, self._opted,
                               float(um.resumption_minutes), float(um.breakpoint_multiplier),
                               f(residue_size), self._count, self._kept, self._ignored,
                               self._minutes, self._opened_any)

    def step(self, step: int, notify: np.ndarray, available: np.ndarray, need: np.ndarray,
             u: np.ndarray, u_pos: np.ndarray, z: np.ndarray, active: np.ndarray,
             opted_out: np.ndarray, attention_left: np.ndarray, sent_today: np.ndarray,
             susceptibility: np.ndarray, goal_weight: np.ndarray, fatigue: np.ndarray,
             wear: np.ndarray, channel_trust: np.ndarray, tray_sent: np.ndarray,
             tray_due: np.ndarray, residue: np.ndarray, carry: np.floating
             ) -> tuple[Delivery, bool]:
        """Fade the last slot's residue; deliver, open or dismiss what is due, opt out; fatigue,
        wear, attention, residue.

        Args:
            step: The current step.
            notify: N x M the policy's sends.
            available: N available flags (step 3).
            need: N x G goal urgency.
            u: 2 x N x M uniforms of the ``notifications`` stream (opens, opt-outs).
            u_pos, z: N x M float32 uniforms and normals of the ``tray`` stream.
            active, opted_out, attention_left, sent_today, susceptibility, goal_weight, fatigue,
                wear, channel_trust, tray_sent, tray_due, residue: The population's arrays
                (``channel_trust`` N x C); ``opted_out``, ``attention_left``, ``sent_today``,
                ``fatigue``, ``wear``, ``tray_sent``, ``tray_due`` and ``residue`` are updated
                in place.
            carry: Residue's fade between slots (``FocusParams.residue_carry``) in residue's
                dtype: ``residue *= carry`` before this step's interruptions add to it.

        Returns:
            The step's :class:`Delivery` (``delivered`` and ``opened`` fresh arrays: the next
            observation shows them; the rest this object's buffers), and whether every open
            log-odds and fatigue is finite.
        """
        n, m = self._shape
        delivered, opened = np.empty((n, m), bool), np.empty((n, m), bool)
        # BLAS's product as numpy's matmul takes it (the same bits: tests/sim/test_tray_trust.py),
        # without the gufunc's dispatch (~2 us a step)
        np.dot(need, self._value_t, out=self._relevance)
        # the deliveries and minus the open log-odds, then its exp in place
        top, finite = send_logit_rows(pass_array(notify, bool), active, opted_out, available,
                                      attention_left, sent_today, delivered, susceptibility,
                                      goal_weight, fatigue, wear, channel_trust, residue, carry,
                                      z, self._open_fixed)
        exp_neg = self._exp_neg
        np.exp(exp_neg, out=exp_neg)
        np.exp(self._spread, out=self._spread)
        hazard = self._hazard if top <= self._hazard.shape[0] else volume_hazard(self.um, top)
        # every entry's offset, elementwise (a delivery's is what it would be alone): cheaper
        # than picking the deliveries out; only deliveries read theirs
        finite &= deliver_rows(int(step), u_pos, delivered, opened, u[0], u[1], hazard, active,
                               sent_today, channel_trust, tray_sent, tray_due, fatigue, wear,
                               opted_out, attention_left, residue, self._deliver_fixed)
        return Delivery(delivered, opened, self._opted, self._minutes, self._ignored,
                        self._count, self._opened_any), finite

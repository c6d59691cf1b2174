"""Pairing live records with backtest records: nearest first, quantity aware, deterministic.

Two items can pair when they have the same key (symbol and side) and their times are at most
``tolerance`` apart. Every such candidate pair is found with sorted searches (numpy), then the pairs
are taken nearest first: by the time apart, then by how close the quantities are, then by the live
time and the positions of the two items, so the same records always give the same pairs, whatever
order they came in. Each pair takes the quantity both still have (a live fill of 1.0 can pair with
two backtest fills of 0.5 each: a partial fill on either side); what is left of an item after every
pair it had is reported unmatched. With ``whole`` each item pairs at most once (orders).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Pairs", "pair_nearest"]

# A quantity left below this fraction of the item's quantity is float noise from the subtraction.
_REST = 1e-9


@dataclass(frozen=True, eq=False)
class Pairs:
    """The outcome: row ``k`` pairs ``live[k]`` with ``backtest[k]`` over ``quantity[k]``; ``-1`` on
    one side marks what is left unmatched of the other side's item. Paired rows come first, in the
    order they were taken (nearest first), then the live rest, then the backtest rest."""

    live: np.ndarray
    backtest: np.ndarray
    quantity: np.ndarray

    def __len__(self) -> int:
        return int(self.live.shape[0])


def _candidates(
    live_key: np.ndarray,
    live_time: np.ndarray,
    bt_key: np.ndarray,
    bt_time: np.ndarray,
    tolerance: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Every (live, backtest) index pair with equal keys and times within ``tolerance``."""
    bt_order = np.lexsort((np.arange(len(bt_time)), bt_time, bt_key))
    keys, times = bt_key[bt_order], bt_time[bt_order]
    lefts, rights = [], []
    for key in np.intersect1d(np.unique(live_key), np.unique(keys)):
        live_rows = np.flatnonzero(live_key == key)
        start, stop = np.searchsorted(keys, key, "left"), np.searchsorted(keys, key, "right")
        group = times[start:stop]
        t = live_time[live_rows]
        lo = np.searchsorted(group, t - tolerance, "left")
        hi = np.searchsorted(group, t + tolerance, "right")
        counts = hi - lo
        total = int(counts.sum())
        if not total:
            continue
        # for each live row, the run lo..hi-1 of backtest rows: offsets within each run by a cumsum
        first = np.repeat(lo - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        lefts.append(np.repeat(live_rows, counts))
        rights.append(bt_order[start + first + np.arange(total)])
    if not lefts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(lefts).astype(np.int64), np.concatenate(rights).astype(np.int64)


def pair_nearest(
    live_key: np.ndarray,
    live_time: np.ndarray,
    live_quantity: np.ndarray,
    bt_key: np.ndarray,
    bt_time: np.ndarray,
    bt_quantity: np.ndarray,
    tolerance: int,
    *,
    whole: bool = False,
) -> Pairs:
    """Pair live and backtest items (keys as integer codes, times as int64 in one unit, tolerance in
    that unit), nearest first; see the module docstring. With ``whole`` every item pairs at most once
    and a pair's quantity is the live item's."""
    live_quantity = np.asarray(live_quantity, dtype=np.float64)
    bt_quantity = np.asarray(bt_quantity, dtype=np.float64)
    left, right = _candidates(
        np.asarray(live_key, dtype=np.int64),
        np.asarray(live_time, dtype=np.int64),
        np.asarray(bt_key, dtype=np.int64),
        np.asarray(bt_time, dtype=np.int64),
        int(tolerance),
    )
    apart = np.abs(live_time[left] - bt_time[right])
    closeness = np.abs(live_quantity[left] - bt_quantity[right])
    order = np.lexsort((right, left, live_time[left], closeness, apart))
    live_rest = live_quantity.tolist()
    bt_rest = bt_quantity.tolist()
    live_floor = (np.abs(live_quantity) * _REST).tolist()
    bt_floor = (np.abs(bt_quantity) * _REST).tolist()
    taken_live: list[int] = []
    taken_bt: list[int] = []
    taken_quantity: list[float] = []
    for i, j in zip(left[order].tolist(), right[order].tolist(), strict=True):
        a, b = live_rest[i], bt_rest[j]
        if a <= live_floor[i] or b <= bt_floor[j]:
            continue
        if whole:
            live_rest[i] = bt_rest[j] = 0.0
            taken_quantity.append(live_quantity[i])
        else:
            q = a if a < b else b
            live_rest[i] = a - q
            bt_rest[j] = b - q
            taken_quantity.append(q)
        taken_live.append(i)
        taken_bt.append(j)
    live_left = np.asarray(live_rest)
    bt_left = np.asarray(bt_rest)
    live_open = np.flatnonzero(live_left > np.abs(live_quantity) * _REST) if len(live_left) else np.zeros(0, np.int64)
    bt_open = np.flatnonzero(bt_left > np.abs(bt_quantity) * _REST) if len(bt_left) else np.zeros(0, np.int64)
    none_live = np.full(len(bt_open), -1, dtype=np.int64)
    none_bt = np.full(len(live_open), -1, dtype=np.int64)
    return Pairs(
        live=np.concatenate([np.asarray(taken_live, dtype=np.int64), live_open, none_live]),
        backtest=np.concatenate([np.asarray(taken_bt, dtype=np.int64), none_bt, bt_open]),
        quantity=np.concatenate([np.asarray(taken_quantity, dtype=np.float64), live_left[live_open], bt_left[bt_open]]),
    )

"""Pairing live records with backtest records: nearest first, quantity aware, deterministic.

Two items can pair when they have the same key (symbol and side) and their times are at most
``tolerance`` apart. Every such candidate pair is found with sorted searches (numpy), then the pairs
are taken nearest first: by the time apart, then by how close the quantities are, then the prices,
then by the live time and the positions of the two items, so the same records always give the same pairs, whatever
order they came in. Each pair takes the quantity both still have (a live fill of 1.0 can pair with
two backtest fills of 0.5 each: a partial fill on either side); what is left of an item after every
pair it had is reported unmatched. With ``whole`` each item pairs at most once (orders).

The walk in rank order is sequential, but most pairs depend on no other: a pair that comes first for
both of its items is taken whatever else happens. Those are taken in vectorised rounds, and only what
is left after the rounds stop paying is walked one by one; the result is the walk's, pair for pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meltica_lab.errors import ConfigError

__all__ = ["Pairs", "pair_nearest"]

# A quantity left below this fraction of the item's quantity is float noise from the subtraction.
_REST = 1e-9

MAX_CANDIDATES = 20_000_000
"""Most candidate pairs paired at once (about 1 GB of working arrays); more means the tolerance spans
hundreds of fills of the same symbol and side, where nearness says little: a :class:`ConfigError`."""


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
    found = 0
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
        found += total
        if found > MAX_CANDIDATES:
            raise ConfigError(
                f"tolerance: {found:,}+ candidate pairs ({found / len(live_key):,.0f} per live item on average) are "
                f"more than {MAX_CANDIDATES:,}; within this tolerance too many fills of one symbol and side are "
                "near each other to pair them by time: give a smaller tolerance",
                field="tolerance",
            )
        # for each live row, the run lo..hi-1 of backtest rows: offsets within each run by a cumsum
        first = np.repeat(lo - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        lefts.append(np.repeat(live_rows, counts))
        rights.append(bt_order[start + first + np.arange(total)])
    if not lefts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(lefts).astype(np.int64), np.concatenate(rights).astype(np.int64)


@dataclass
class _State:
    """What is left of every item while pairs are taken."""

    live_quantity: np.ndarray
    live_rest: np.ndarray
    bt_rest: np.ndarray
    live_floor: np.ndarray
    bt_floor: np.ndarray
    whole: bool

    def alive(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return (self.live_rest[left] > self.live_floor[left]) & (self.bt_rest[right] > self.bt_floor[right])


def _in_rounds(left: np.ndarray, right: np.ndarray, state: _State) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Take, round by round, every pair that comes first (in rank order) for both of its items among
    the pairs still possible. Such a pair is the one the one-by-one walk in rank order would take
    (nothing ranked before it touches either item), with the same quantity, so the rounds give what
    the walk gives; they stop when a round takes few pairs, and return what they took (by rank
    position, quantity) and the rank positions still possible."""
    taken: list[np.ndarray] = []
    quantities: list[np.ndarray] = []
    rank = np.arange(len(left))
    n_live, n_bt = len(state.live_rest), len(state.bt_rest)
    while len(rank):
        live, bt = left[rank], right[rank]
        first_live = np.full(n_live, len(left))
        np.minimum.at(first_live, live, rank)
        first_bt = np.full(n_bt, len(left))
        np.minimum.at(first_bt, bt, rank)
        take = rank[(first_live[live] == rank) & (first_bt[bt] == rank)]
        tl, tr = left[take], right[take]
        if state.whole:
            q = state.live_quantity[tl]
            state.live_rest[tl] = 0.0
            state.bt_rest[tr] = 0.0
        else:
            q = np.minimum(state.live_rest[tl], state.bt_rest[tr])
            state.live_rest[tl] -= q
            state.bt_rest[tr] -= q
        taken.append(take)
        quantities.append(q)
        rank = rank[state.alive(live, bt)]
        if len(take) * 20 < len(rank):  # a long chain of dependent pairs: walk the rest one by one
            break
    return np.concatenate([np.zeros(0, np.int64), *taken]), np.concatenate([np.zeros(0), *quantities]), rank


def _one_by_one(left: np.ndarray, right: np.ndarray, state: _State) -> tuple[list[int], list[float]]:
    """Walk the pairs in rank order, taking each whose items both have quantity left."""
    live_rest, bt_rest = state.live_rest.tolist(), state.bt_rest.tolist()
    live_floor, bt_floor = state.live_floor.tolist(), state.bt_floor.tolist()
    whole, live_quantity = state.whole, state.live_quantity
    taken: list[int] = []
    quantities: list[float] = []
    for k, (i, j) in enumerate(zip(left.tolist(), right.tolist(), strict=True)):
        a, b = live_rest[i], bt_rest[j]
        if a <= live_floor[i] or b <= bt_floor[j]:
            continue
        if whole:
            live_rest[i] = bt_rest[j] = 0.0
            quantities.append(float(live_quantity[i]))
        else:
            q = a if a < b else b
            live_rest[i] = a - q
            bt_rest[j] = b - q
            quantities.append(q)
        taken.append(k)
    state.live_rest[:] = live_rest
    state.bt_rest[:] = bt_rest
    return taken, quantities


def pair_nearest(
    live_key: np.ndarray,
    live_time: np.ndarray,
    live_quantity: np.ndarray,
    bt_key: np.ndarray,
    bt_time: np.ndarray,
    bt_quantity: np.ndarray,
    tolerance: int,
    *,
    live_price: np.ndarray | None = None,
    bt_price: np.ndarray | None = None,
    whole: bool = False,
    rounds: bool = True,
) -> Pairs:
    """Pair live and backtest items (keys as integer codes, times as int64 in one unit, tolerance in
    that unit), nearest first; see the module docstring. With ``whole`` every item pairs at most once
    and a pair's quantity is the live item's. Given prices, equally near pairs of equally close
    quantities go to the closest prices (a missing price counts as equal). ``rounds`` takes the pairs
    that depend on no other in vectorised rounds first (the result is the same; ``False`` walks every
    pair one by one)."""
    live_time = np.asarray(live_time, dtype=np.int64)
    bt_time = np.asarray(bt_time, dtype=np.int64)
    live_quantity = np.asarray(live_quantity, dtype=np.float64)
    bt_quantity = np.asarray(bt_quantity, dtype=np.float64)
    left, right = _candidates(
        np.asarray(live_key, dtype=np.int64), live_time, np.asarray(bt_key, dtype=np.int64), bt_time, int(tolerance)
    )
    apart = np.abs(live_time[left] - bt_time[right])
    closeness = np.abs(live_quantity[left] - bt_quantity[right])
    if live_price is not None and bt_price is not None:
        gap = np.abs(np.asarray(live_price, np.float64)[left] - np.asarray(bt_price, np.float64)[right])
        price_gap = np.nan_to_num(gap, nan=0.0)
    else:
        price_gap = np.zeros(len(left))
    order = np.lexsort((right, left, live_time[left], price_gap, closeness, apart))
    left, right = left[order], right[order]
    state = _State(
        live_quantity=live_quantity,
        live_rest=live_quantity.copy(),
        bt_rest=bt_quantity.copy(),
        live_floor=np.abs(live_quantity) * _REST,
        bt_floor=np.abs(bt_quantity) * _REST,
        whole=whole,
    )
    taken, quantity = np.zeros(0, np.int64), np.zeros(0)
    rest = np.arange(len(left))
    if rounds:
        taken, quantity, rest = _in_rounds(left, right, state)
    walked, walked_quantity = _one_by_one(left[rest], right[rest], state)
    taken = np.concatenate([taken, rest[np.asarray(walked, dtype=np.int64)]])
    quantity = np.concatenate([quantity, np.asarray(walked_quantity, dtype=np.float64)])
    by_rank = np.argsort(taken, kind="stable")
    taken, quantity = taken[by_rank], quantity[by_rank]
    live_open = np.flatnonzero(state.live_rest > state.live_floor)
    bt_open = np.flatnonzero(state.bt_rest > state.bt_floor)
    return Pairs(
        live=np.concatenate([left[taken], live_open, np.full(len(bt_open), -1, dtype=np.int64)]),
        backtest=np.concatenate([right[taken], np.full(len(live_open), -1, dtype=np.int64), bt_open]),
        quantity=np.concatenate([quantity, state.live_rest[live_open], state.bt_rest[bt_open]]),
    )

"""The :class:`Reconciliation`: what the live instance did next to what its backtest did."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from meltica_lab.backtest import BacktestResult
from meltica_lab.backtest.results import _plain as plain_value
from meltica_lab.reconcile.live import LiveRecords

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Reconciliation"]

_SHOWN_ROWS = 20
_PLOT_POINTS = 4000


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: times as ISO text (ns), NaN as null."""
    return json.loads(frame.to_json(orient="records", date_format="iso", date_unit="ns"))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:,.6g}"
    return "" if value is None or value is pd.NaT else str(value)


@dataclass(frozen=True, eq=False)
class Reconciliation:
    """A live instance's orders and fills set against a backtest of the same hash over the same data.

    ``summary`` (Series): ``matched``, ``missing_live`` (backtest fills the live instance did not
    make), ``extra_live`` (live fills the backtest did not make), ``median_delay_s`` (live time less
    backtest time, at the live records' resolution), ``median_slippage_bps`` (live price against the
    backtest price, positive = worse for the instance), ``fees_live``, ``fees_backtest``,
    ``pnl_live``, ``pnl_backtest`` (quote currency, marked to market at the window's end), then
    ``live_fills``, ``backtest_fills``, ``orders_matched``, ``orders_missing_live``,
    ``orders_extra_live``, ``orders_outcome_differs`` and ``rejected_live``.

    ``fills``: one row per matched pair or unmatched (rest of a) fill, ``status`` in ``matched``,
    ``missing_live``, ``extra_live``, with both times, prices, quantities, fees and order ids,
    ``price_diff_bps``, ``delay_s`` and a ``note`` saying why. ``orders``: the same for orders, with
    both states and what became of each order (``live_outcome``/``backtest_outcome``: filled,
    partial, unfilled, rejected). ``provenance``: the instance, the records' source, the strategy,
    hash and config, the window, the tolerance, and the backtest's own provenance. ``prices`` is the
    market's price over the window (``symbol``, ``price``), ``pnl_live``/``pnl_backtest`` the
    cumulative PnL curves; ``backtest`` and ``live`` what was compared.
    """

    summary: pd.Series
    fills: pd.DataFrame
    orders: pd.DataFrame
    provenance: Mapping[str, Any]
    prices: pd.DataFrame
    pnl_live: pd.Series
    pnl_backtest: pd.Series
    backtest: BacktestResult | None = None
    live: LiveRecords | None = None

    @property
    def unmatched_fills(self) -> pd.DataFrame:
        """The fill rows that are not matched pairs."""
        return self.fills[self.fills["status"] != "matched"]

    @property
    def unmatched_orders(self) -> pd.DataFrame:
        """The order rows that are not matched pairs."""
        return self.orders[self.orders["status"] != "matched"]

    @property
    def ok(self) -> bool:
        """Whether every fill and every order found its counterpart within the tolerance."""
        return not len(self.unmatched_fills) and not len(self.unmatched_orders)

    # -- output -------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """``{"summary", "fills", "orders", "provenance"}`` as JSON-ready values."""
        return {
            "summary": {str(k): plain_value(v) for k, v in self.summary.items()},
            "fills": _records(self.fills),
            "orders": _records(self.orders),
            "provenance": plain_value(dict(self.provenance)),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text (equal reconciliations give equal text)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def headline(self) -> str:
        """One line: which instance, against which revision, over which window."""
        p = self.provenance
        window = p["window"]
        return (
            f"Reconciliation of instance {p['instance']} against {p['strategy']}:{p['tag']} ({p['hash']}), "
            f"{window['live_first']} to {window['live_last']}, tolerance {p['tolerance_s']:g} s"
        )

    def verdict(self) -> str:
        """One sentence an operator reads first."""
        s = self.summary
        if self.ok:
            return (
                f"All {s['matched']} fill pair(s) and {s['orders_matched']} order pair(s) matched within the tolerance."
            )
        return (
            f"{s['missing_live']} backtest fill(s) the live instance did not make, {s['extra_live']} live fill(s) the "
            f"backtest did not make, {s['orders_missing_live'] + s['orders_extra_live']} unmatched order(s), "
            f"{s['rejected_live']} live rejection(s)."
        )

    def __repr__(self) -> str:
        lines = [self.headline(), self.verdict(), self.summary.to_string()]
        if len(self.unmatched_fills):
            shown = self.unmatched_fills[["status", "symbol", "side", "quantity", "live_time", "backtest_time", "note"]]
            lines += ["unmatched fills:", shown.head(_SHOWN_ROWS).to_string(index=False)]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td>{html.escape(_cell(v))}</td></tr>"
            for k, v in self.summary.items()
        )
        parts = [
            f"<p><b>{html.escape(self.headline())}</b><br>{html.escape(self.verdict())}</p>",
            f"<table>{rows}</table>",
        ]
        for title, frame in (("Unmatched fills", self.unmatched_fills), ("Unmatched orders", self.unmatched_orders)):
            if len(frame):
                table = frame.head(_SHOWN_ROWS).to_html(index=False, border=0, na_rep="", escape=True)
                more = f"<p>… {len(frame) - _SHOWN_ROWS} more</p>" if len(frame) > _SHOWN_ROWS else ""
                parts.append(f"<p><b>{title}</b> ({len(frame)})</p>{table}{more}")
        return f"<div>{''.join(parts)}</div>"

    def plot(self, *, figsize: tuple[float, float] = (11.0, 7.0)) -> Figure:
        """Price with live and backtest fills marked (unmatched ones crossed), the slippage histogram
        of the matched pairs, and both cumulative PnL curves; returns the Figure."""
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
        from matplotlib.figure import Figure

        figure = Figure(figsize=figsize, layout="constrained")
        grid = figure.add_gridspec(2, 2, height_ratios=[3, 2])
        price = figure.add_subplot(grid[0, :])
        slippage = figure.add_subplot(grid[1, 0])
        pnl = figure.add_subplot(grid[1, 1])
        traded = list(pd.unique(self.fills["symbol"])) or list(pd.unique(self.prices["symbol"]))[:1]
        for symbol in traded:
            own = self.prices[self.prices["symbol"] == symbol]
            step = max(1, len(own) // _PLOT_POINTS)
            price.plot(
                own.index.tz_convert(None).to_numpy()[::step],
                own["price"].to_numpy()[::step],
                linewidth=0.7,
                color="grey",
                label=f"{symbol} price",
            )
        for side, color in (("live", "tab:blue"), ("backtest", "tab:orange")):
            rows = self.fills[self.fills[f"{side}_time"].notna()]
            for direction, marker in (("Buy", "^"), ("Sell", "v")):
                mine = rows[rows["side"] == direction]
                if len(mine):
                    price.scatter(
                        mine[f"{side}_time"].dt.tz_convert(None).to_numpy(),
                        mine[f"{side}_price"].to_numpy(),
                        marker=marker,
                        s=28,
                        facecolors=color if side == "live" else "none",
                        edgecolors=color,
                        label=f"{side} {direction.lower()}",
                    )
        missed = self.unmatched_fills
        if len(missed):
            times = np.where(missed["live_time"].notna(), missed["live_time"], missed["backtest_time"])
            prices = np.where(missed["live_time"].notna(), missed["live_price"], missed["backtest_price"])
            price.scatter(
                pd.DatetimeIndex(times).tz_convert(None).to_numpy(),
                prices,
                marker="x",
                s=80,
                color="tab:red",
                label="unmatched",
            )
        p = self.provenance
        price.set_title(
            f"{p['instance']} live vs backtest of {p['strategy']}:{p['tag']} ({p['hash'][:19]}…), "
            f"tolerance {p['tolerance_s']:g} s",
            fontsize=9,
        )
        price.set_ylabel("price")
        if price.get_legend_handles_labels()[0]:
            price.legend(fontsize=7, loc="best")
        matched = self.fills.loc[self.fills["status"] == "matched", "price_diff_bps"].dropna()
        slippage.hist(matched.to_numpy(), bins=min(40, max(5, len(matched) // 3 or 5)), color="tab:blue", alpha=0.7)
        slippage.axvline(0.0, color="grey", linewidth=0.8)
        slippage.set_xlabel("live vs backtest price, bps (positive = worse live)")
        slippage.set_ylabel("matched fills")
        for series, color in ((self.pnl_live, "tab:blue"), (self.pnl_backtest, "tab:orange")):
            pnl.step(
                series.index.tz_convert(None).to_numpy(),
                series.to_numpy(),
                where="post",
                color=color,
                label=series.name.replace("pnl_", ""),
            )
        pnl.axhline(0.0, color="grey", linewidth=0.6)
        pnl.set_ylabel("cumulative PnL (quote)")
        pnl.legend(fontsize=7)
        for axis in (price, pnl):
            locator = AutoDateLocator()
            axis.xaxis.set_major_locator(locator)
            axis.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        return figure

"""``BacktestPanel``: pick a revision and market data, fill in its config, run a pinned backtest.

The revision picker lists every loaded revision by its pinned selector (``name@sha256:…``, labelled
with its tags), so what runs is exactly what was picked. The config form is generated from that
revision's metadata (:class:`~meltica_lab.widgets.config_form.ConfigForm`) and rebuilt when the pick
changes. The run goes through :func:`meltica_lab.backtest.run_backtest`; the progress bar follows its
stages, and the result (provenance, summary, equity and drawdown plot, fills, logs, errors) is shown
below, the same in the live view and in :meth:`to_html`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from meltica_lab.backtest import BacktestResult, Fees, FillModel, load_market_data, run_backtest
from meltica_lab.errors import UsageError
from meltica_lab.loader import Loader, Revision
from meltica_lab.widgets._html import definition_list, figure_png, frame_table, heading, image, paragraph
from meltica_lab.widgets.base import LabWidget
from meltica_lab.widgets.config_form import ConfigForm

DATA_SUFFIXES = (".csv", ".parquet", ".pq")
STAGES = ("resolve the revision", "load the market data", "run the backtest", "render the results")
_WIDE = widgets.Layout(width="36em")
_STYLE = {"description_width": "8em"}


def data_files(data: str | Path | Sequence[str | Path]) -> list[Path]:
    """Market data files: one file, a list of files, or every CSV/Parquet file in a folder (sorted)."""
    if isinstance(data, str | Path):
        path = Path(data)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in DATA_SUFFIXES)
            if not found:
                raise UsageError(f"{path}: no market data files (*.csv, *.parquet) in this folder", path=str(path))
            return found
        return [path]
    files = [Path(p) for p in data]
    if not files:
        raise UsageError("data: expected at least one market data file", field="data")
    return files


def data_choices(data: str | Path | Sequence[str | Path]) -> tuple[list[Path], Path]:
    """What a data picker offers, and its first pick: a single file comes with the other data files of
    its folder (itself picked); a folder or a list offers its files, the first picked."""
    files = data_files(data)
    if isinstance(data, str | Path) and files == [Path(data)]:
        siblings = [p for p in data_files(files[0].parent) if p != files[0]] if files[0].parent.is_dir() else []
        return sorted([files[0], *siblings]), files[0]
    return files, files[0]


def data_picker(data: str | Path | Sequence[str | Path]) -> widgets.Dropdown:
    """A dropdown of :func:`data_choices`, labelled by file name, valued by path."""
    files, first = data_choices(data)
    return widgets.Dropdown(
        options=[(f.name, str(f)) for f in files], value=str(first), description="data", layout=_WIDE, style=_STYLE
    )


def revision_label(revision: Revision) -> str:
    """``name:tag  sha256:0123456789ab  (latest, prod)``: how a revision is listed in pickers."""
    others = [t for t in revision.tags if t != revision.tag]
    extra = f"  ({', '.join(others)})" if others else ""
    return f"{revision.name}:{revision.tag}  sha256:{revision.short_hash}{extra}"


def result_parts(result: BacktestResult) -> list[str]:
    """A result as HTML parts: provenance (resolved hash first), summary, plot, fills, logs, errors."""
    p = result.provenance
    provenance = definition_list(
        [
            ("hash", p["hash"]),
            ("pinned selector", p["pinned"]),
            ("asked for", p["selector"]),
            ("data", f"{p['data_source']} ({p['data_sha256']})"),
            ("events", p["events"]),
            ("config", p["config"]),
            ("seed", p["seed"]),
        ]
    )
    summary = frame_table(result.summary.to_frame("value"), rows=len(result.summary))
    parts = [heading("Provenance", 5), provenance, heading("Summary", 5), summary]
    parts += [heading("Equity and drawdown", 5), image(figure_png(result.plot()), alt="equity and drawdown")]
    parts += [heading(f"Fills ({len(result.fills)})", 5), frame_table(result.fills, rows=10)]
    parts += [heading(f"Strategy logs ({len(result.logs)})", 5), frame_table(result.logs, rows=10, index=False)]
    if len(result.errors):
        parts += [heading("Handler errors", 5), frame_table(result.errors, index=False)]
    else:
        parts.append(paragraph("No handler errors."))
    return parts


class BacktestPanel(LabWidget):
    """Selector picker, data picker, config form, execution settings, run button, progress and results.

    ``root`` (or a ready ``loader``) gives the revisions; ``data`` is a file (offered with the other
    data files of its folder), a list of files or a folder. ``selector`` picks the initial revision
    (any selector form; default: the first strategy's ``latest``) and ``config`` pre-fills its form.
    :meth:`run` runs with the current values and returns the :class:`BacktestResult` (also kept in
    :attr:`result`).
    """

    title = "Backtest"

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        data: str | Path | Sequence[str | Path],
        loader: Loader | None = None,
        selector: str | None = None,
        config: Mapping[str, Any] | None = None,
        seed: int = 0,
        fees: Fees = Fees(),  # noqa: B008 - frozen value
        fill_model: FillModel = FillModel(),  # noqa: B008 - frozen value
        slippage_bps: float = 0.0,
        latency_ms: float = 0.0,
    ) -> None:
        self.loader = loader if loader is not None else Loader(root)
        revisions = self.loader.revisions()
        if not revisions:
            raise UsageError(f"{self.loader.root}: no loadable revisions to backtest", path=str(self.loader.root))
        initial = self.loader.resolve(selector or self.loader.strategies()[0])
        self.result: BacktestResult | None = None
        self.revision = widgets.Dropdown(
            options=[(revision_label(r), r.selector) for r in revisions],
            value=initial.selector,
            description="revision",
            layout=_WIDE,
            style=_STYLE,
        )
        self.data = data_picker(data)
        self.form = ConfigForm(initial.metadata.config, config)
        self.form_box = widgets.VBox([self.form])
        self.seed = widgets.IntText(value=seed, description="seed", style=_STYLE)
        self.maker_fee = widgets.FloatText(value=fees.maker, description="maker fee", step=0.0005, style=_STYLE)
        self.taker_fee = widgets.FloatText(value=fees.taker, description="taker fee", step=0.0005, style=_STYLE)
        self.slippage = widgets.FloatText(value=slippage_bps, description="slippage bps", style=_STYLE)
        self.latency = widgets.FloatText(value=latency_ms, description="latency ms", style=_STYLE)
        self.trigger = widgets.Dropdown(
            options=["through", "touch"], value=fill_model.trigger, description="limit fills", style=_STYLE
        )
        self.improvement = widgets.Checkbox(value=fill_model.price_improvement, description="price improvement")
        self.partial = widgets.Checkbox(value=fill_model.partial, description="partial fills")
        self.button = widgets.Button(description="Run backtest", button_style="primary", icon="play")
        self.progress = widgets.IntProgress(value=0, min=0, max=len(STAGES), description="idle", style=_STYLE)
        execution = widgets.VBox(
            [
                widgets.HBox([self.seed, self.maker_fee, self.taker_fee]),
                widgets.HBox([self.slippage, self.latency, self.trigger]),
                widgets.HBox([self.improvement, self.partial]),
            ]
        )
        settings = widgets.Accordion(children=[self.form_box, execution], titles=("config", "execution"))
        settings.selected_index = 0
        super().__init__([self.revision, self.data, settings, widgets.HBox([self.button, self.progress])])
        self.revision.observe(self.guarded(self._rebuild_form), names="value")
        self.button.on_click(self.guarded(self.run))

    def _rebuild_form(self) -> None:
        self.form = ConfigForm(self.loader.resolve(self.revision.value).metadata.config)
        self.form_box.children = [self.form]

    def _stage(self, index: int) -> None:
        self.progress.value = index
        self.progress.description = STAGES[index] if index < len(STAGES) else "done"

    def run(self) -> BacktestResult:
        """Run the backtest with the current values, show the result and return it."""
        self.button.disabled = True
        self.progress.bar_style = "info"
        try:
            self._stage(0)
            revision = self.loader.resolve(self.revision.value)
            self._stage(1)
            market = load_market_data(self.data.value)
            self._stage(2)
            result = run_backtest(
                revision,
                market,
                config=self.form.values(),
                seed=self.seed.value,
                fees=Fees(maker=self.maker_fee.value, taker=self.taker_fee.value),
                fill_model=FillModel(
                    trigger=self.trigger.value, price_improvement=self.improvement.value, partial=self.partial.value
                ),
                slippage_bps=self.slippage.value,
                latency_ms=self.latency.value,
                progress=False,
            )
            self._stage(3)
            self.show_result(result)
        except Exception:
            self.progress.bar_style = "danger"
            self.progress.description = "failed"
            raise
        finally:
            self.button.disabled = False
        return result

    def show_result(self, result: BacktestResult) -> None:
        """Show a finished run's result (from :meth:`run`, or a ``run_backtest`` call made elsewhere)."""
        self.show(result_parts(result))
        self.result = result
        self._stage(len(STAGES))
        self.progress.bar_style = "success"

    def state_html(self) -> str:
        """The picked revision and data, the config and execution settings."""
        return definition_list(
            [
                ("revision", self.revision.value),
                ("data", self.data.value),
                ("config", self.form.values()),
                ("seed", self.seed.value),
                ("fees (maker / taker)", f"{self.maker_fee.value} / {self.taker_fee.value}"),
                ("slippage bps / latency ms", f"{self.slippage.value} / {self.latency.value}"),
                (
                    "limit fills",
                    f"{self.trigger.value}, price improvement {self.improvement.value}, partial {self.partial.value}",
                ),
                ("status", self.progress.description),
            ]
        )

    def describe(self) -> str:
        """``<selector> on <data file>``."""
        return f"{self.revision.value} on {Path(self.data.value).name}"

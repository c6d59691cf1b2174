"""``BacktestPanel``: pick a revision and market data, fill in its config, run a pinned backtest.

The revision picker lists every loaded revision by its pinned selector (``name@sha256:…``, labelled
with its tags), so what runs is exactly what was picked. The config form is generated from that
revision's metadata (:class:`~meltica_lab.widgets.config_form.ConfigForm`) and rebuilt when the pick
changes. The run goes through :func:`meltica_lab.backtest.run_backtest`; the progress bar follows its
stages, and the result (provenance, summary, equity and drawdown plot, fills, logs, errors) is shown
below, the same in the live view and in :meth:`to_html`.

Every typed value (config and execution settings) is a checked text field: a value that does not fit
is shown beside its field and the run does not start. Changing any input after a run clears the
result, so what is shown always belongs to what the controls say.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from meltica_lab.backtest import BacktestResult, Fees, FillModel, load_market_data, run_backtest
from meltica_lab.backtest.options import parse_option
from meltica_lab.errors import ConfigError, UsageError
from meltica_lab.loader import Loader, Revision
from meltica_lab.presentation import provenance_rows, result_summary
from meltica_lab.widgets._html import definition_list, figure_png, frame_table, heading, image, paragraph
from meltica_lab.widgets.base import LabWidget
from meltica_lab.widgets.config_form import ConfigForm, as_text
from meltica_lab.widgets.fields import CheckedText

DATA_SUFFIXES = (".csv", ".parquet", ".pq")
STAGES = ("resolve the revision", "load the market data", "run the backtest", "render the results")
_WIDE = widgets.Layout(width="44em")
_STYLE = {"description_width": "10em"}
CHANGED = "Inputs changed since the last run: press Run backtest for results of these settings."


def data_files(data: str | Path | Sequence[str | Path] | None) -> list[Path]:
    """Market data files: one file, a list of files, or every CSV/Parquet file in a folder (sorted).

    A path that does not exist is a :class:`UsageError` naming it as resolved (relative paths are
    relative to the working directory).
    """
    if data is None:
        raise UsageError(
            "data: expected a market data file, a list of files or a folder (e.g. data='examples/data')", field="data"
        )
    if isinstance(data, str | Path):
        path = Path(data)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in DATA_SUFFIXES)
            if not found:
                raise UsageError(f"{path}: no market data files (*.csv, *.parquet) in this folder", path=str(path))
            return found
        files = [path]
    else:
        files = [Path(p) for p in data]
    if not files:
        raise UsageError("data: expected at least one market data file", field="data")
    for file in files:
        if not file.is_file():
            raise UsageError(f"data: {file.resolve()}: no such market data file", path=str(file), field="data")
    return files


def data_choices(data: str | Path | Sequence[str | Path] | None) -> tuple[list[Path], Path]:
    """What a data picker offers, and its first pick: a single file comes with the other data files of
    its folder (itself picked); a folder or a list offers its files, the first picked."""
    files = data_files(data)
    if isinstance(data, str | Path) and files == [Path(data)]:
        siblings = [p for p in data_files(files[0].parent) if p != files[0]] if files[0].parent.is_dir() else []
        return sorted([files[0], *siblings]), files[0]
    return files, files[0]


def data_picker(data: str | Path | Sequence[str | Path] | None) -> widgets.Dropdown:
    """A dropdown of :func:`data_choices`, labelled by file name, valued by path."""
    files, first = data_choices(data)
    return widgets.Dropdown(
        options=[(f.name, str(f)) for f in files],
        value=str(first),
        description="data",
        tooltip="market data file",
        layout=_WIDE,
        style=_STYLE,
    )


def revision_label(revision: Revision) -> str:
    """``name:tag  sha256:0123456789ab  (latest, prod)``: how a revision is listed in pickers."""
    others = [t for t in revision.tags if t != revision.tag]
    extra = f"  ({', '.join(others)})" if others else ""
    return f"{revision.name}:{revision.tag}  sha256:{revision.short_hash}{extra}"


def resolve_initial(loader: Loader, selector: str | None) -> Revision:
    """The revision a widget starts on: ``selector`` resolved, or the first strategy's ``latest``."""
    if not loader.revisions():
        raise UsageError(f"{loader.root}: no loadable revisions", path=str(loader.root))
    return loader.resolve(selector or loader.strategies()[0])


def result_parts(result: BacktestResult) -> list[str]:
    """A result as HTML parts: provenance (resolved hash first, every value whole), summary (with units
    and what each figure means), plot, fills, logs, errors."""
    summary = result_summary(result)
    parts = [heading("Provenance", 5), definition_list(provenance_rows(result.provenance))]
    parts += [heading("Summary", 5), frame_table(summary, rows=len(summary))]
    parts += [heading("Equity and drawdown", 5), image(figure_png(result.plot()), alt="equity and drawdown")]
    more = "the result's fills frame has them all"
    parts += [
        heading(f"Fills ({len(result.fills)})", 5),
        frame_table(result.fills, more=more, empty="No fills."),
    ]
    parts += [
        heading(f"Strategy logs ({len(result.logs)})", 5),
        frame_table(result.logs, index=False, more="the result's logs frame", empty="No log lines."),
    ]
    if len(result.errors):
        parts += [heading("Handler errors", 5), frame_table(result.errors, index=False)]
    else:
        parts.append(paragraph("No handler errors."))
    return parts


def _button(description: str, tooltip: str, **kwargs: Any) -> widgets.Button:
    """A button whose label is never cut (its width follows the label) and whose tooltip says what it does."""
    return widgets.Button(description=description, tooltip=tooltip, layout=widgets.Layout(width="auto"), **kwargs)


class BacktestPanel(LabWidget):
    """Selector picker, data picker, config form, execution settings, run button, progress and results.

    ``root`` (or a ready ``loader``) gives the revisions; ``data`` is a file (offered with the other
    data files of its folder), a list of files or a folder, and must exist. ``selector`` picks the
    initial revision (any selector form; default: the first strategy's ``latest``) and ``config``
    pre-fills its form. :meth:`run` runs with the current values and returns the
    :class:`BacktestResult` (also kept in :attr:`result`). Bad arguments are kit errors naming them
    (:class:`UsageError`, :class:`~meltica_lab.errors.NotFoundError`, :class:`ConfigError`).
    """

    title = "Backtest"

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        data: str | Path | Sequence[str | Path] | None = None,
        loader: Loader | None = None,
        selector: str | None = None,
        config: Mapping[str, Any] | None = None,
        seed: int = 0,
        fees: Fees = Fees(),  # noqa: B008 - frozen value
        fill_model: FillModel = FillModel(),  # noqa: B008 - frozen value
        slippage_bps: float = 0.0,
        latency_ms: float = 0.0,
    ) -> None:
        if not isinstance(fees, Fees):
            raise UsageError(f"fees: expected a Fees value, got {fees!r}", field="fees")
        if not isinstance(fill_model, FillModel):
            raise UsageError(f"fill_model: expected a FillModel value, got {fill_model!r}", field="fill_model")
        data_widget = data_picker(data)  # checked first: a missing file fails before anything loads
        self.loader = loader if loader is not None else Loader(root)
        initial = resolve_initial(self.loader, selector)
        self.result: BacktestResult | None = None
        self.revision = widgets.Dropdown(
            options=[(revision_label(r), r.selector) for r in self.loader.revisions()],
            value=initial.selector,
            description="revision",
            tooltip="the revision to backtest, pinned to its hash",
            layout=_WIDE,
            style=_STYLE,
        )
        self.data = data_widget
        self.form = ConfigForm(initial.metadata.config, config, strategy=initial.name)
        self.form_box = widgets.VBox([self.form])
        self.seed = CheckedText("seed", str(seed), lambda t: parse_option("seed", t), tooltip="seed of Math.random")
        self.maker_fee = CheckedText(
            "maker fee", as_text(fees.maker), lambda t: parse_option("fees.maker", t), tooltip="0.002 = 0.2 %"
        )
        self.taker_fee = CheckedText(
            "taker fee", as_text(fees.taker), lambda t: parse_option("fees.taker", t), tooltip="0.002 = 0.2 %"
        )
        self.slippage = CheckedText(
            "slippage bps", as_text(slippage_bps), lambda t: parse_option("slippage_bps", t), tooltip="basis points"
        )
        self.latency = CheckedText(
            "latency ms", as_text(latency_ms), lambda t: parse_option("latency_ms", t), tooltip="milliseconds"
        )
        self.trigger = widgets.Dropdown(
            options=["through", "touch"],
            value=fill_model.trigger,
            description="limit fills",
            tooltip="a resting limit fills when the market trades through its price, or on a touch",
            style=_STYLE,
        )
        self.improvement = widgets.Checkbox(
            value=fill_model.price_improvement, description="price improvement", tooltip="fill at the better price"
        )
        self.partial = widgets.Checkbox(
            value=fill_model.partial, description="partial fills", tooltip="bound fills by the traded quantity"
        )
        self.button = _button("Run backtest", "run this revision over the data", button_style="primary", icon="play")
        self.progress = widgets.IntProgress(
            value=0, min=0, max=len(STAGES), tooltip="", layout=widgets.Layout(width="16em")
        )
        self.stage = widgets.Label("idle", tooltip="")
        execution = widgets.VBox(
            [
                self.seed,
                self.maker_fee,
                self.taker_fee,
                self.slippage,
                self.latency,
                self.trigger,
                widgets.HBox([self.improvement, self.partial]),
            ]
        )
        settings = widgets.Accordion(children=[self.form_box, execution], titles=("config", "execution"))
        settings.selected_index = 0
        super().__init__([self.revision, self.data, settings, widgets.HBox([self.button, self.progress, self.stage])])
        self.revision.observe(self.guarded(self._rebuild_form), names="value")
        for control in (self.data, self.trigger, self.improvement, self.partial):
            control.observe(lambda _: self._inputs_changed(), names="value")
        for field in self.execution_fields():
            field.box.observe(lambda _: self._inputs_changed(), names="value")
        self.form.observe_values(self._inputs_changed)
        self.button.on_click(self.guarded(self.run))

    def execution_fields(self) -> tuple[CheckedText, ...]:
        """The typed execution settings: seed, fees, slippage, latency."""
        return (self.seed, self.maker_fee, self.taker_fee, self.slippage, self.latency)

    def _rebuild_form(self) -> None:
        revision = self.loader.resolve(self.revision.value)
        self.form = ConfigForm(revision.metadata.config, strategy=revision.name)
        self.form.observe_values(self._inputs_changed)
        self.form_box.children = [self.form]
        self._inputs_changed()

    def _inputs_changed(self) -> None:
        """An input changed: a shown result (or error) no longer belongs to the controls, so it goes."""
        if self.result is None and not self.shown:
            return
        self.result = None
        self.error = None
        self.show([paragraph(CHANGED)])
        self._set_stage(0, "idle", "")

    def _set_stage(self, index: int, text: str, style: str) -> None:
        self.progress.value = index
        self.progress.bar_style = style
        self.stage.value = text

    def _stage(self, index: int) -> None:
        self._set_stage(index, STAGES[index] if index < len(STAGES) else "done", "info")

    def problems(self) -> dict[str, str]:
        """Every field that does not fit now (config and execution), with its message."""
        found = dict(self.form.problems())
        for field in self.execution_fields():
            if field.check() is not None:
                found[field.box.description] = field.problem or ""
        return found

    def run(self) -> BacktestResult:
        """Run the backtest with the current values, show the result and return it.

        While any field does not fit, nothing runs: a :class:`ConfigError` lists the fields to fix.
        """
        problems = self.problems()
        if problems:
            self.result = None
            self._set_stage(0, "not started: fix the fields marked in red", "warning")
            raise ConfigError(
                f"{len(problems)} field(s) to fix before the run: " + "; ".join(problems.values()),
                field=next(iter(problems)),
            )
        self.button.disabled = True
        self.result = None
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
                seed=self.seed.parsed(),
                fees=Fees(maker=self.maker_fee.parsed(), taker=self.taker_fee.parsed()),
                fill_model=FillModel(
                    trigger=self.trigger.value, price_improvement=self.improvement.value, partial=self.partial.value
                ),
                slippage_bps=self.slippage.parsed(),
                latency_ms=self.latency.parsed(),
                progress=False,
            )
            self._stage(3)
            self.show_result(result)
        except Exception:
            self._set_stage(self.progress.value, "failed", "danger")
            raise
        finally:
            self.button.disabled = False
        return result

    def show_result(self, result: BacktestResult) -> None:
        """Show a finished run's result (from :meth:`run`, or a ``run_backtest`` call made elsewhere)."""
        self.show(result_parts(result))
        self.result = result
        self._set_stage(len(STAGES), "done", "success")

    def state_html(self) -> str:
        """The picked revision and data, the config and execution settings."""
        try:
            config: Any = self.form.values()
        except ConfigError as exc:
            config = f"not valid: {exc.message}"
        return definition_list(
            [
                ("revision", self.revision.value),
                ("data", self.data.value),
                ("config", config),
                ("seed", self.seed.text),
                ("fees (maker / taker)", f"{self.maker_fee.text} / {self.taker_fee.text}"),
                ("slippage bps / latency ms", f"{self.slippage.text} / {self.latency.text}"),
                (
                    "limit fills",
                    f"{self.trigger.value}, price improvement {self.improvement.value}, partial {self.partial.value}",
                ),
                ("status", self.stage.value),
            ]
        )

    def describe(self) -> str:
        """``<selector> on <data file>``."""
        return f"{self.revision.value} on {Path(self.data.value).name}"

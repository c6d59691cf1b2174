"""ipywidgets front ends over the meltica-lab API, each with a static HTML twin for reports.

* :class:`RegistryBrowser`: strategies, revisions (tags, hash, size, usage, retired), source, tag history.
* :class:`UsageExplorer`: revision usage, filtered and paged, with a drill-down into instances.
* :class:`BacktestPanel`: pick a revision and data, fill in the generated config form, run a backtest.
* :class:`RevisionCompare`: two or more revisions: source diff and backtest comparison.
* :class:`ReconcilePanel`: a live instance against a backtest of its hash, unmatched fills first.

Every widget shows the results of its callbacks (and any exception, readably) in its own ``Output``
area, and renders as static HTML (``to_html()``) where no widget state is kept.
"""

from meltica_lab.widgets.backtest_panel import BacktestPanel
from meltica_lab.widgets.config_form import ConfigForm
from meltica_lab.widgets.reconcile import ReconcilePanel
from meltica_lab.widgets.registry_browser import RegistryBrowser
from meltica_lab.widgets.revision_compare import RevisionCompare
from meltica_lab.widgets.usage_explorer import UsageExplorer

__all__ = ["BacktestPanel", "ConfigForm", "ReconcilePanel", "RegistryBrowser", "RevisionCompare", "UsageExplorer"]

"""Progress bars: tqdm's, imported with the first bar shown, without tqdm.auto's asyncio."""

import subprocess
import sys

from meltica_lab.progress import progress_bar


def _printed_by(code: str) -> list[str]:
    """What ``code`` prints, split in words, run in a fresh interpreter (where nothing is imported yet)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


def test_a_bar_over_an_iterable_yields_every_item_and_counts_them():
    with progress_bar(range(5), desc="items", disable=False, file=sys.stderr) as bar:
        seen = list(bar)
    assert seen == [0, 1, 2, 3, 4]
    assert bar.n == 5


def test_a_bar_updated_by_hand_keeps_its_total_and_count():
    with progress_bar(total=10, unit="B", disable=False, file=sys.stderr) as bar:
        bar.update(4)
        bar.update(6)
    assert (bar.total, bar.n) == (10, 10)


def test_a_disabled_bar_passes_the_items_through_and_imports_no_tqdm():
    code = (
        "import sys\n"
        "from meltica_lab.progress import progress_bar\n"
        "with progress_bar(iter('abc'), disable=True) as bar:\n"
        "    items = list(bar)\n"
        "with progress_bar(total=3, disable=True) as bar:\n"
        "    bar.update(3)\n"
        "print(''.join(items), list(progress_bar(disable=True)), 'tqdm' in sys.modules)"
    )
    assert _printed_by(code) == ["abc", "[]", "False"]


def test_the_bar_is_tqdm_autonotebooks_and_its_first_import_warns_of_nothing_and_keeps_the_filters():
    code = (
        "import sys, warnings\n"
        "warnings.simplefilter('error')\n"
        "before = list(warnings.filters)\n"
        "from meltica_lab.progress import progress_bar\n"
        "assert 'tqdm' not in sys.modules\n"
        "bar = progress_bar(total=1, file=sys.stderr)\n"
        "import tqdm.autonotebook\n"
        "print(type(bar) is tqdm.autonotebook.tqdm, 'asyncio' in sys.modules, warnings.filters == before)"
    )
    assert _printed_by(code) == ["True", "False", "True"]


def test_in_a_jupyter_kernel_the_bar_is_the_notebook_widget_and_its_import_warns_of_nothing(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    cell = (
        "import warnings\n"
        "warnings.simplefilter('always')\n"
        "from meltica_lab.progress import progress_bar\n"
        "with progress_bar(total=2, desc='work') as bar:\n"
        "    bar.update(2)\n"
        "print(type(bar).__module__, bar.n)"
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = notebook.cells[0].outputs
    streams = {o.name: o.text for o in outputs if o.output_type == "stream"}
    assert streams.get("stdout", "").split() == ["tqdm.notebook", "2"]
    assert "stderr" not in streams, streams["stderr"]  # no TqdmExperimentalWarning, no other warning
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)

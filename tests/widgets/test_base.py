"""What every widget shares: static HTML twin, short repr, and callbacks whose errors are never lost."""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets

from meltica_lab.errors import ConfigError
from meltica_lab.widgets.base import LabWidget


class Probe(LabWidget):
    """A minimal widget: one button whose action the test chooses."""

    title = "Probe"

    def __init__(self, parts: Sequence[str] = ()) -> None:
        self.button = widgets.Button(description="go")
        super().__init__([self.button])
        self.show(parts)

    def state_html(self) -> str:
        return "<p>probe state</p>"

    def describe(self) -> str:
        return "a probe"


def test_the_mime_bundle_offers_the_widget_view_and_the_static_html() -> None:
    probe = Probe(["<p>result</p>"])
    bundle = probe._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == probe.model_id
    assert bundle["text/html"] == probe.to_html()
    assert "probe state" in bundle["text/html"] and "<p>result</p>" in bundle["text/html"]
    assert bundle["text/plain"] == "<Probe: a probe>"


def test_shown_parts_reach_the_output_widget_as_html() -> None:
    probe = Probe(["<b>one</b>", "<i>two</i>"])
    assert [o["data"]["text/html"] for o in probe.output.outputs] == ["<b>one</b>", "<i>two</i>"]


def test_a_failing_callback_shows_a_readable_error_in_the_output_area() -> None:
    probe = Probe(["<p>old result</p>"])

    def fail() -> None:
        raise ConfigError("config for momentum: lookback: expected an integer (type int), got 'x'", field="lookback")

    probe.button.on_click(probe.guarded(fail))
    probe.button.click()
    assert isinstance(probe.error, ConfigError)
    (shown,) = [o["data"]["text/html"] for o in probe.output.outputs]
    assert "ConfigError: config for momentum: lookback: expected an integer (type int), got &#x27;x&#x27;" in shown
    assert "<details><summary>traceback</summary>" in shown
    assert "old result" not in probe.to_html()


def test_an_unexpected_exception_is_shown_with_its_type() -> None:
    probe = Probe()
    probe.guarded(lambda: {}["missing"])()
    assert "KeyError: &#x27;missing&#x27;" in probe.output.outputs[0]["data"]["text/html"]


def test_a_successful_callback_clears_the_previous_error() -> None:
    probe = Probe()
    probe.guarded(lambda: 1 / 0)()
    probe.guarded(lambda: probe.show(["<p>fine</p>"]))()
    assert probe.error is None
    assert probe.shown == ("<p>fine</p>",)


def test_no_control_is_left_with_a_null_tooltip() -> None:
    probe = Probe()
    probe.button.tooltip = None
    label = widgets.Label("x")
    box = widgets.HBox([label])
    probe.children = (*probe.children, box)
    from meltica_lab.widgets.base import blank_tooltips

    blank_tooltips(probe)
    assert probe.button.tooltip == "" and label.tooltip == ""

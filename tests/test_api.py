"""The top-level API: every advertised name resolves, lazily."""

import subprocess
import sys

import meltica_lab


def test_every_exported_name_resolves_to_a_documented_object():
    for name in meltica_lab.__all__:
        value = getattr(meltica_lab, name)
        assert getattr(value, "__doc__", None) or isinstance(value, str), name


def test_importing_the_package_loads_no_heavy_layer():
    code = "import sys, meltica_lab; print(any(m in sys.modules for m in ('pandas', 'py_mini_racer')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_unknown_names_raise_attribute_error():
    try:
        meltica_lab.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")

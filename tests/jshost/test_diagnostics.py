"""The gateway's diagnostic shape and message rule."""

import pytest

from meltica_lab.jshost.diagnostics import Diagnostic, clean_message, trim_space


def test_clean_message_keeps_the_first_line_only():
    assert clean_message("TypeError: boom\n    at f (x.js:1:2)\n") == "TypeError: boom"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ReferenceError: x is not defined at <eval>:3:5(7)", "ReferenceError: x is not defined"),
        ("Error: bad at (strategy.js:3:5)", "Error: bad"),
        ("Error: bad at strategy.js:12", "Error: bad"),
    ],
)
def test_clean_message_drops_one_trailing_location(text, expected):
    assert clean_message(text) == expected


def test_clean_message_keeps_at_that_is_not_a_location():
    assert clean_message("Error: price at 100") == "Error: price at 100"


def test_clean_message_caps_at_256_code_points_not_bytes_or_utf16_units():
    assert clean_message("𝒳" * 300) == "𝒳" * 256


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_clean_message_of_nothing_is_unknown_error(text):
    assert clean_message(text) == "unknown error"


def test_trim_space_follows_go_not_python():
    # Go's TrimSpace keeps U+001F (Python's strip() would remove it) and trims U+3000 and NEL.
    assert trim_space("\u3000\x85 \x1fname\t") == "\x1fname"


def test_diagnostic_json_omits_zero_positions_and_empty_hint():
    assert Diagnostic("validation", "name required").to_dict() == {"stage": "validation", "message": "name required"}
    full = Diagnostic("compile", "SyntaxError: x", 3, 7, "fix it")
    assert full.to_dict() == {"stage": "compile", "message": "SyntaxError: x", "line": 3, "column": 7, "hint": "fix it"}


@pytest.mark.parametrize(
    "diagnostic", [Diagnostic("execute", "boom"), Diagnostic("compile", "SyntaxError: x", 3, 7, "fix it")]
)
def test_diagnostic_round_trips_through_json(diagnostic):
    assert Diagnostic.from_dict(diagnostic.to_dict()) == diagnostic


@pytest.mark.parametrize(
    ("data", "error", "complaint"),
    [
        (
            {"stage": "linking", "message": "x"},
            ValueError,
            "diagnostic stage must be one of compile, execute, validation",
        ),
        ({"stage": "compile", "message": "x", "line": "3"}, TypeError, "diagnostic line must be a whole number"),
        ({"stage": "compile", "message": "x", "column": True}, TypeError, "diagnostic column must be a whole number"),
        ({"stage": "compile", "message": 5}, TypeError, "diagnostic message must be text"),
        ({"message": "x"}, KeyError, "stage"),
        ("text", TypeError, "diagnostic must be an object, got str"),
    ],
)
def test_diagnostic_from_dict_refuses_malformed_items_naming_the_field(data, error, complaint):
    # Readers of untrusted JSON (the gateway client) skip an item on exactly these three errors.
    with pytest.raises(error, match=complaint):
        Diagnostic.from_dict(data)


def test_describe_is_one_readable_line():
    located = Diagnostic("compile", "SyntaxError: x", 3, 7, "hint")
    assert located.describe() == "compile error at 3:7: SyntaxError: x (hint)"
    assert Diagnostic("validation", "name required").describe() == "validation error: name required"

"""Metadata: the gateway's conversion and JSON, every validation rule, and our own rules."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meltica_lab.errors import ModuleError
from meltica_lab.jshost.metadata import (
    EVENT_TYPES,
    INVALID_HINT,
    ConfigField,
    Metadata,
    go_lower,
    read_metadata,
)
from tests.jshost.conftest import metadata


def read(raw, **kwargs) -> Metadata:
    meta, problems = read_metadata(raw, **kwargs)
    assert problems == (), problems
    assert meta is not None
    return meta


def issues(meta: Metadata) -> list[tuple[str, str]]:
    found = meta.validate()
    assert all(d.stage == "validation" for d in found)
    return [(d.message, d.hint) for d in found]


def test_event_types_are_the_gateways_nine():
    assert set(EVENT_TYPES) == {
        "BookSnapshot",
        "Trade",
        "Ticker",
        "ExecReport",
        "KlineSummary",
        "InstrumentUpdate",
        "BalanceUpdate",
        "RiskControl",
        "Extension",
    }


def test_name_is_trimmed_and_lower_cased_like_go():
    assert read(metadata(name="  MoMentum\u3000")).name == "momentum"
    # Go maps U+0130 to a plain "i"; Python's lower() would give two code points.
    assert go_lower("\u0130STANBUL") == "istanbul"
    assert go_lower("ΟΔΟΣ") == "οδοσ"  # no context-dependent final sigma


def test_text_fields_are_trimmed_and_blank_events_dropped():
    meta = read(metadata(displayName="  Demo  ", description="\n text \t", events=[" Trade ", "  ", "", "Ticker"]))
    assert (meta.display_name, meta.description, meta.events) == ("Demo", "text", ("Trade", "Ticker"))


@pytest.mark.parametrize(
    ("keys", "tag", "source"),
    [
        ({"tag": " v2 "}, "v2", "tag"),
        ({"tag": None, "version": "1.0.0"}, "1.0.0", "version"),
        ({"tag": "  ", "version": "1.0.0"}, "1.0.0", "version"),
        ({"tag": "v2", "version": "1.0.0"}, "v2", "tag"),
        ({"tag": None}, "", ""),
    ],
)
def test_tag_comes_from_tag_else_from_the_older_version_key(keys, tag, source):
    meta = read(metadata(**keys))
    assert (meta.tag, meta.tag_source) == (tag, source)


def test_null_fields_read_as_absent():
    meta = read({"name": "x", "tag": None, "description": None, "config": None, "events": None})
    assert (meta.tag, meta.description, meta.config, meta.events) == ("", "", (), ())


def test_config_entries_keep_their_values_and_tell_null_default_from_none():
    meta = read(
        metadata(
            config=[
                {"name": " size ", "type": " float ", "description": " how much ", "default": 1.5, "required": True},
                {"name": "flag", "type": "bool"},
                {"name": "nothing", "type": "string", "default": None},
            ]
        )
    )
    size, flag, nothing = meta.config
    assert size == ConfigField("size", "float", "how much", 1.5, True, True)
    assert (flag.has_default, flag.default, flag.required) == (False, None, False)
    assert (nothing.has_default, nothing.default) == (True, None)
    assert meta.config_field("flag") is flag
    assert meta.config_field("missing") is None


def test_every_field_of_the_wrong_type_is_reported_together_with_its_path():
    raw = {
        "name": 5,
        "displayName": ["x"],
        "config": [{"name": "a", "type": "int", "required": "yes"}, 7],
        "events": ["Trade", 3],
    }
    meta, problems = read_metadata(raw)
    assert meta is None
    assert [d.message for d in problems] == [
        "metadata.name must be a string, got number",
        "metadata.displayName must be a string, got array",
        "metadata.config[0].required must be true or false, got string",
        "metadata.config[1] must be an object, got number",
        "metadata.events[1] must be a string, got number",
    ]
    assert {d.hint for d in problems} == {INVALID_HINT}


def test_values_json_cannot_carry_are_reported_with_their_javascript_kind():
    raw = {"name": None, "config": [{"name": "a", "type": "int", "default": {"f": None, "n": [None]}}], "events": None}
    opaque = {
        "metadata.name": "function",
        "metadata.events": "symbol",
        "metadata.config[0].default.f": "function",
        "metadata.config[0].default.n[0]": "NaN",
    }
    meta, problems = read_metadata(raw, opaque=opaque)
    assert meta is None
    assert sorted(d.message for d in problems) == [
        "metadata.config[0].default.f must be JSON data, got function",
        "metadata.config[0].default.n[0] must be JSON data, got NaN",
        "metadata.events must be an array, got symbol",
        "metadata.name must be a string, got function",
    ]


def test_metadata_that_is_no_object_is_invalid():
    meta, problems = read_metadata("momentum")
    assert meta is None
    assert [d.message for d in problems] == ["metadata must be an object, got string"]


def test_valid_metadata_has_no_issues():
    assert issues(read(metadata(config=[{"name": "n", "type": "int", "default": 3, "required": False}]))) == []


def test_every_gateway_rule_is_reported_at_once_with_the_path_as_hint():
    meta = read(
        {
            "name": " ",
            "displayName": "",
            "events": ["Trade", "trade", "Bogus"],
            "config": [{"name": "", "type": "int"}, {"name": "x", "type": " "}],
        }
    )
    assert issues(meta) == [
        ("name required", "metadata.name"),
        ("displayName required", "metadata.displayName"),
        ('unsupported event type "trade"', "metadata.events[1]"),
        ('unsupported event type "Bogus"', "metadata.events[2]"),
        ("name required", "metadata.config[0].name"),
        ("type required", "metadata.config[1].type"),
    ]


def test_events_must_not_be_empty_after_dropping_blanks():
    assert issues(read(metadata(events=[" ", ""]))) == [
        ("events must include at least one event type", "metadata.events")
    ]


def test_display_name_limit_counts_code_points_after_trimming():
    assert issues(read(metadata(displayName=" " + "𝒳" * 80 + " "))) == []
    assert issues(read(metadata(displayName="x" * 81))) == [
        ("displayName must be 80 characters or fewer", "metadata.displayName")
    ]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("a/b", 'contains "/"'),
        ("a\\b", 'contains "\\\\"'),
        ("a..b", 'contains ".."'),
        (".", 'is "."'),
        ("a:b", 'contains ":"'),
        ("a@b", 'contains "@"'),
        ("my strategy", "contains white space"),
        ("a\x07b", "contains control characters"),
        ("ab" * 32, "is 64 hex digits, which a selector reads as a bare hash"),
    ],
)
def test_name_must_work_as_a_path_segment_and_in_a_selector(name, reason):
    [(message, hint)] = issues(read(metadata(name=name)))
    assert hint == "metadata.name"
    assert message.endswith(reason)
    assert "cannot be used as a path segment or in a selector" in message


def test_names_with_dots_dashes_and_unicode_are_fine():
    assert issues(read(metadata(name="grid-v2.fast_ünï"))) == []


def test_config_names_must_be_unique():
    meta = read(
        metadata(config=[{"name": "a", "type": "int"}, {"name": "b", "type": "int"}, {"name": " a ", "type": "float"}])
    )
    assert issues(meta) == [
        ('duplicate config name "a": already declared at metadata.config[0]', "metadata.config[2].name")
    ]


@pytest.mark.parametrize(
    ("kind", "default"),
    [
        ("int", 20),
        ("int", 0),
        ("int", "15"),
        ("int", 3.0),
        ("int", " 0x10 "),
        ("float", 0.002),
        ("float", -1),
        ("float", "1e-3"),
        ("number", ".5"),
        ("bool", True),
        ("bool", False),
        ("string", "[x]"),
        ("string", ""),
        ("string", 5),
        ("string", True),
        ("duration", "5s"),
        ("duration", "250MS"),
        ("duration", " 1.5h "),
        ("duration", "10µs"),
        ("duration", 5000),
        ("duration", "0"),
        ("duration", 0.5),
        ("percent", [1, 2]),
        ("Int", {"types": "are case-sensitive"}),
    ],
)
def test_default_that_the_strategy_coercion_accepts_fits(kind, default):
    field = {"name": "f", "type": kind, "default": default}
    assert [m for m, _ in issues(read(metadata(config=[field])))] == []


@pytest.mark.parametrize(
    ("kind", "default", "expected"),
    [
        ("int", -1, "a whole number >= 0"),
        ("int", 2.5, "a whole number >= 0"),
        ("int", "abc", "a whole number"),
        ("int", "", "a whole number"),
        ("int", True, "a whole number"),
        ("int", "1_000", "a whole number"),
        ("float", "Infinity", "a finite number"),
        ("float", "1,5", "a finite number"),
        ("number", [1], "a finite"),
        ("bool", "false", 'a string such as "false" as true'),
        ("bool", 0, "true or false"),
        ("string", {"a": 1}, "a string, number or boolean"),
        ("duration", "-5s", "a duration >= 0"),
        ("duration", "1h30m", "a duration >= 0"),
        ("duration", "5 s", "a duration"),
        ("duration", -1, "a duration"),
        ("duration", 1e21, "a duration"),
        ("duration", 1e-7, "a duration"),
        ("duration", True, "a duration"),
    ],
)
def test_default_that_the_strategy_would_replace_by_its_fallback_does_not_fit(kind, default, expected):
    [(message, hint)] = issues(read(metadata(config=[{"name": "f", "type": kind, "default": default}])))
    assert hint == "metadata.config[0].default"
    shown = json.dumps(default, ensure_ascii=False)
    assert message.startswith(f'default {shown} does not fit type "{kind}": expected')
    assert expected in message


def test_a_null_default_is_no_default_and_is_not_checked():
    assert issues(read(metadata(config=[{"name": "f", "type": "int", "default": None}]))) == []


def test_gateway_json_omits_empty_optional_fields():
    meta = Metadata("demo", display_name="Demo", config=(ConfigField("n", "int"),), events=("Trade",))
    assert meta.to_dict() == {
        "name": "demo",
        "displayName": "Demo",
        "config": [{"name": "n", "type": "int", "required": False}],
        "events": ["Trade"],
    }


def test_gateway_json_names_tag_and_keeps_declared_defaults():
    meta = read(
        metadata(
            description="d",
            config=[
                {"name": "n", "type": "int", "description": "count", "default": 2},
                {"name": "z", "type": "string", "default": None},
            ],
        )
    )
    assert meta.to_dict() == {
        "name": "demo",
        "tag": "v1.0.0",
        "displayName": "Demo strategy",
        "description": "d",
        "config": [
            {"name": "n", "type": "int", "description": "count", "default": 2, "required": False},
            {"name": "z", "type": "string", "default": None, "required": False},
        ],
        "events": ["Trade"],
    }


def test_a_tag_declared_as_version_is_reported_under_both_keys():
    data = read(metadata(tag=None, version="1.2.0")).to_dict()
    assert (data["tag"], data["version"]) == ("1.2.0", "1.2.0")


def test_from_dict_reads_json_of_either_gateway_era():
    old = Metadata.from_dict({"name": "Demo", "version": "1.0.0", "displayName": "D", "config": None, "events": []})
    new = Metadata.from_dict({"name": "demo", "tag": "v2", "displayName": "D", "config": [], "events": ["Trade"]})
    assert (old.name, old.tag, old.tag_source, old.config) == ("demo", "1.0.0", "version", ())
    assert (new.tag, new.tag_source) == ("v2", "tag")


def test_from_dict_refuses_json_of_the_wrong_shape_naming_the_field():
    with pytest.raises(ModuleError, match="metadata invalid") as caught:
        Metadata.from_dict({"name": "x", "config": [{"name": 1, "type": "int"}]})
    assert [d.message for d in caught.value.diagnostics] == ["metadata.config[0].name must be a string, got number"]


def test_config_field_records_a_default_given_without_has_default():
    assert ConfigField("n", "int", default=0).has_default is True
    assert ConfigField("n", "int").has_default is False


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
config_fields = st.builds(
    ConfigField,
    name=st.text(),
    type=st.text(),
    description=st.text(),
    default=json_values,
    required=st.booleans(),
    has_default=st.booleans(),
)
metadata_values = st.builds(
    Metadata,
    name=st.text(),
    tag=st.text(),
    display_name=st.text(),
    description=st.text(),
    config=st.lists(config_fields, max_size=3).map(tuple),
    events=st.lists(st.text(), max_size=4).map(tuple),
    tag_source=st.sampled_from(["tag", "version", ""]),
)


def _exact(value):
    """JSON text with types kept apart (True is not 1, 1.0 is not 1)."""
    return json.dumps(value, sort_keys=True, default=repr)


@given(metadata_values)
def test_from_dict_inverts_to_dict_exactly(meta):
    again = Metadata.from_dict(meta.to_dict())
    assert again == meta
    assert _exact(again.to_dict()) == _exact(meta.to_dict())
    assert [(type(f.default), f.has_default) for f in again.config] == [
        (type(f.default), f.has_default) for f in meta.config
    ]


@given(metadata_values)
def test_metadata_survives_json_text_as_an_on_disk_cache_stores_it(meta):
    assert Metadata.from_dict(json.loads(json.dumps(meta.to_dict()))) == meta

"""Selector parsing: the gateway's forms, our hash prefixes, and the parse/str round trip."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meltica_lab.errors import SelectorError
from meltica_lab.selectors import Selector, normalize_hash

HEX = "ab" * 32


def test_plain_name_is_lower_cased_and_selects_the_default_revision():
    sel = Selector.parse("  MomenTum ")
    assert (sel.name, sel.tag, sel.hash, sel.kind) == ("momentum", None, None, "name")


def test_tag_keeps_its_case_and_splits_at_the_last_colon():
    assert Selector.parse("Demo:Prod") == Selector("demo", tag="Prod")
    assert Selector.parse("a:b:c") == Selector("a:b", tag="c")


def test_hash_splits_at_the_first_at_sign_and_is_normalised():
    sel = Selector.parse(f"demo@{HEX.upper()}")
    assert sel == Selector("demo", hash="sha256:" + HEX)
    assert sel.kind == "hash" and not sel.is_prefix


@pytest.mark.parametrize("text", [f"sha256:{HEX}", HEX, f"SHA256:{HEX.upper()}"])
def test_bare_hashes_in_every_spelling_select_any_strategy(text):
    sel = Selector.parse(text)
    assert sel == Selector(None, hash="sha256:" + HEX)
    assert sel.kind == "bare-hash"


def test_hash_prefix_of_eight_digits_is_a_prefix_selector():
    sel = Selector.parse("momentum@243dcc31")
    assert sel.hash == "sha256:243dcc31" and sel.is_prefix


def test_bare_prefixed_short_hash_is_a_prefix_not_a_name():
    assert Selector.parse("sha256:243dcc31") == Selector(None, hash="sha256:243dcc31")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (":v1", "no strategy name"),
        ("@" + HEX, "no strategy name"),
        ("demo@1234567", "not a sha256 hash"),
        ("demo@xyz", "not a sha256 hash"),
        ("sha256:abc", "not a sha256 hash"),
    ],
)
def test_malformed_selectors_fail_with_a_message_naming_the_problem(text, needle):
    with pytest.raises(SelectorError, match=needle):
        Selector.parse(text)


def test_an_empty_tag_part_means_the_default_revision():
    assert Selector.parse("demo:") == Selector("demo")


def test_an_empty_hash_part_is_a_hash_left_out_unless_the_name_holds_a_colon():
    with pytest.raises(SelectorError, match="'demo@' has an empty hash after '@'"):
        Selector.parse("demo@")
    assert Selector.parse("a:b@") == Selector("a:b")  # how a name holding ':' is said alone


def test_non_string_selector_is_rejected():
    with pytest.raises(SelectorError, match="must be a string"):
        Selector.parse(42)  # type: ignore[arg-type]


def test_selector_cannot_carry_both_tag_and_hash():
    with pytest.raises(SelectorError):
        Selector("demo", tag="v1", hash="sha256:" + HEX)


def test_normalize_hash_refuses_prefixes_when_asked_for_a_full_hash():
    with pytest.raises(SelectorError, match="exactly"):
        normalize_hash("243dcc31", allow_prefix=False)


names = st.from_regex(r"[a-z][a-z0-9_.-]{0,20}", fullmatch=True)
tags = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,15}", fullmatch=True)
hashes = st.from_regex(r"[0-9a-f]{8,64}", fullmatch=True).map(lambda h: "sha256:" + h)
selectors = st.one_of(
    names.map(Selector),
    st.builds(lambda n, t: Selector(n, tag=t), names, tags),
    st.builds(lambda n, h: Selector(n, hash=h), names, hashes),
    st.from_regex(r"[0-9a-f]{64}", fullmatch=True).map(lambda h: Selector(None, hash="sha256:" + h)),
)


@given(selectors)
def test_str_and_parse_round_trip(sel):
    assert Selector.parse(str(sel)) == sel


@given(st.text(max_size=80))
def test_parse_either_succeeds_or_raises_selector_error(text):
    try:
        sel = Selector.parse(text)
    except SelectorError:
        return
    assert sel.name is None or sel.name == sel.name.strip().lower()

"""registry.json: format, validation, resolution, locked edits, tag history, module files."""

from __future__ import annotations

import json
import multiprocessing
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meltica_lab.errors import AmbiguousHashError, ConflictError, NotFoundError, RegistryError
from meltica_lab.registry import (
    HISTORY_FILE,
    Registry,
    content_hash,
    edit_registry,
    load_registry,
    read_tag_history,
    registry_path,
    store_module,
)
from tests.conftest import add_revision, module_source, snapshot_tree

H1 = "sha256:" + "1" * 64
H2 = "sha256:" + "2" * 64
H3 = "sha256:" + "3" * 64


def doc(**strategies):
    return strategies


def entry(tags, hashes):
    return {"tags": tags, "hashes": {h: {"tag": t, "path": p} for h, (t, p) in hashes.items()}}


def demo_registry():
    return Registry.from_dict(
        doc(
            demo=entry(
                {"latest": H2, "v1.0.0": H1, "v1.1.0": H2, "stable": H1, "Prod": H1},
                {H1: ("v1.0.0", "demo/v1.0.0/demo.js"), H2: ("v1.1.0", "demo/v1.1.0/demo.js")},
            ),
            other=entry({"v2": H3}, {H3: ("v2", "other/v2/other.js")}),
        )
    )


def test_hash_is_sha256_of_raw_bytes_with_prefix():
    assert content_hash(b"abc") == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_written_text_matches_the_gateway_layout_with_a_trailing_newline():
    text = demo_registry().dumps()
    assert text.endswith("}\n") and not text.endswith("\n\n")
    lines = text.splitlines()
    assert lines[1] == '  "demo": {' and lines[2] == '    "tags": {'
    assert lines.index('    "tags": {') < lines.index('    "hashes": {')
    tag_line = next(i for i, line in enumerate(lines) if '"tag": "v1.0.0"' in line)
    assert '"path"' in lines[tag_line + 1]
    assert json.loads(text)["demo"]["tags"] == dict(sorted(json.loads(text)["demo"]["tags"].items()))


def test_empty_text_and_null_read_as_an_empty_registry():
    assert Registry.from_text("  \n").strategies == {}
    assert Registry.from_text("null").strategies == {}
    assert Registry.from_dict({}).dumps() == "{}\n"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('{"demo": ', "malformed JSON at line 1"),
        ("[1, 2]", "expected an object of strategies, got list"),
        ('{"demo": 3}', "demo: expected an object with 'tags' and 'hashes', got int"),
        ('{"demo": {"tags": [], "hashes": {}}}', "demo.tags: expected an object, got list"),
        ('{"demo": {"tags": {"v1": 5}, "hashes": {}}}', "demo.tags['v1']: expected a hash string, got int"),
        ('{"demo": {"tags": {"v1": "md5:abc"}, "hashes": {}}}', "expected a sha256 hash, got 'md5:abc'"),
        ('{"demo": {"tags": {}, "hashes": {"sha256:ABC": {"tag": "v", "path": "a.js"}}}}', "64 lower-case hex"),
        (json.dumps({"demo": entry({"latest": H2}, {H1: ("v1", "demo/v1/demo.js")})}), "'latest' points at"),
        (json.dumps({"demo": entry({}, {H1: ("v1", "/etc/passwd")})}), "is absolute"),
        (json.dumps({"demo": entry({}, {H1: ("v1", "../x/demo.js")})}), "contains '..'"),
        (json.dumps({"demo": entry({}, {H1: ("v1", "")})}), "expected a relative path string"),
        (json.dumps({"demo": {"tags": {}, "hashes": {H1: {"tag": 1, "path": "a.js"}}}}), ".tag: expected a string"),
        (json.dumps({"Demo": entry({}, {}), "demo": entry({}, {})}), "duplicate strategy name"),
    ],
)
def test_invalid_documents_name_the_file_key_and_expectation(root, text, needle):
    registry_path(root).write_text(text)
    before = snapshot_tree(root)
    with pytest.raises(RegistryError, match=__import__("re").escape(needle)) as info:
        load_registry(root)
    assert str(registry_path(root)) in str(info.value)
    assert snapshot_tree(root) == before


def test_symlink_escaping_the_root_is_rejected(root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "demo.js").write_text("x")
    (root / "demo").symlink_to(outside)
    registry_path(root).write_text(json.dumps({"demo": entry({}, {H1: ("v1", "demo/demo.js")})}))
    with pytest.raises(RegistryError, match="resolves outside the root"):
        load_registry(root)


def test_unknown_keys_and_dangling_tags_are_warnings_and_kept():
    data = doc(demo={**entry({"old": H3}, {H1: ("v1", "demo/v1/demo.js")}), "notes": "x"})
    reg = Registry.from_dict(data)
    assert any("unknown keys" in w for w in reg.warnings)
    assert any("unknown hash" in w for w in reg.warnings)
    assert reg.to_dict()["demo"]["notes"] == "x"


def test_resolution_follows_the_gateway_rules():
    reg = demo_registry()
    assert reg.resolve("demo").hash == H2 and reg.resolve("demo").alias == "latest"
    assert reg.resolve("DEMO:v1.0.0").hash == H1
    assert reg.resolve("demo:Prod").alias == "Prod" and reg.resolve("demo:Prod").tag == "v1.0.0"
    assert reg.resolve(f"demo@{H1}").hash == H1
    assert reg.resolve(H3).name == "other"
    assert reg.resolve("other:LATEST").hash == H3  # no latest key: falls back to the default revision


def test_canonical_selectors_keep_tags_as_asked_and_pin_hashes():
    reg = demo_registry()
    assert reg.resolve(" DEMO ").selector == "demo"
    assert reg.resolve("demo:Prod").selector == "demo:Prod"
    assert reg.resolve(f"demo@{H1[:15]}").selector == f"demo@{H1}"
    assert reg.resolve(H3.removeprefix("sha256:")).selector == f"other@{H3}"


def test_tags_are_case_sensitive():
    with pytest.raises(NotFoundError, match=r"case-sensitive; known: Prod, latest, stable, v1\.0\.0, v1\.1\.0"):
        demo_registry().resolve("demo:prod")


def test_default_without_latest_is_the_smallest_hash():
    reg = Registry.from_dict(doc(x=entry({}, {H2: ("b", "x/b/x.js"), H1: ("a", "x/a/x.js")})))
    assert reg.resolve("x").hash == H1


@pytest.mark.parametrize(
    ("selector", "needle"),
    [
        ("nope", "strategy 'nope' not found"),
        ("dem", "did you mean demo"),
        (f"demo@{H3}", "belongs to other, not demo"),
        ("sha256:" + "4" * 64, "not found"),
        ("demo@sha256:99999999", "no revision hash starts with"),
    ],
)
def test_resolution_failures_explain_themselves(selector, needle):
    with pytest.raises(NotFoundError, match=needle):
        demo_registry().resolve(selector)


def test_unique_hash_prefix_resolves_and_ambiguous_prefix_lists_candidates():
    a, b = "sha256:243dcc31" + "0" * 56, "sha256:243dcc31" + "f" * 56
    reg = Registry.from_dict(doc(m=entry({"latest": a}, {a: ("v1", "m/v1/m.js"), b: ("v2", "m/v2/m.js")})))
    assert reg.resolve("m@243dcc310").hash == a
    with pytest.raises(AmbiguousHashError) as info:
        reg.resolve("m@243dcc31")
    assert info.value.candidates == (a, b)
    assert "2 revisions match" in str(info.value)


def test_edit_writes_atomically_and_records_tag_history(root):
    h1 = add_revision(root, "demo", "v1.0.0")
    h2 = add_revision(root, "demo", "v1.1.0")
    with edit_registry(root, "promote") as draft:
        assert draft.assign_tag("demo", "latest", h2) == h1
        assert draft.assign_tag("demo", "prod", h2[:20]) is None
    reg = load_registry(root)
    assert reg.resolve("demo").hash == h2 and reg.resolve("demo:prod").hash == h2
    history = read_tag_history(root, "demo")
    assert [(c.tag, c.from_hash, c.to_hash) for c in history][-2:] == [("latest", h1, h2), ("prod", None, h2)]
    assert history[-1].reason == "promote"
    assert not [p for p in root.iterdir() if p.name.endswith(".tmp")]


def test_failed_edit_leaves_every_file_unchanged(root):
    add_revision(root, "demo", "v1.0.0")
    before = snapshot_tree(root)
    with pytest.raises(NotFoundError), edit_registry(root, "bad") as draft:
        draft.assign_tag("demo", "prod", H3)
    with pytest.raises(RuntimeError), edit_registry(root, "boom") as draft:
        draft.add_revision("demo", H3, "v9", "demo/v9/demo.js")
        raise RuntimeError("stop")
    assert snapshot_tree(root) == before


def test_latest_cannot_be_removed_and_orphaning_needs_permission(root):
    h1 = add_revision(root, "demo", "v1.0.0")
    with pytest.raises(ConflictError, match="reassign it instead"), edit_registry(root, "x") as draft:
        draft.remove_tag("demo", "LATEST")
    h2 = add_revision(root, "demo", "v1.1.0")
    with edit_registry(root, "promote") as draft:
        draft.assign_tag("demo", "latest", h2)
    with pytest.raises(ConflictError, match="would orphan hash"), edit_registry(root, "x") as draft:
        draft.remove_tag("demo", "v1.0.0")
    with edit_registry(root, "drop") as draft:
        assert draft.remove_tag("demo", "v1.0.0", allow_orphan=True) == h1
    assert "v1.0.0" not in load_registry(root).entry("demo").tags


def test_removing_the_latest_revision_moves_latest_to_the_newest_by_semver(root):
    add_revision(root, "demo", "v1.9.0")
    h10 = add_revision(root, "demo", "v1.10.0")
    h11 = add_revision(root, "demo", "v1.11.0")
    with edit_registry(root, "promote") as draft:
        draft.assign_tag("demo", "latest", h11)
    with edit_registry(root, "delete") as draft:
        draft.remove_revision("demo", h11)
    assert load_registry(root).resolve("demo").hash == h10


def test_store_module_reuses_identical_bytes_and_never_overwrites(root):
    src = module_source("demo", "v1").encode()
    digest, rel = store_module(root, src, name="demo", tag="v1")
    assert rel == "demo/v1/demo.js" and digest == content_hash(src)
    assert store_module(root, src, name="demo", tag="v1") == (digest, rel)
    with pytest.raises(ConflictError, match="never overwritten"):
        store_module(root, src + b"//", name="demo", tag="v1")
    assert (root / rel).read_bytes() == src
    _, hrel = store_module(root, src + b"//", name="demo", tag="v1", layout="hash")
    assert hrel == f"demo/{content_hash(src + b'//')[7:]}/demo.js"


@pytest.mark.parametrize("tag", ["", "../x", "a/b", " v1"])
def test_tags_that_are_not_path_segments_are_refused(root, tag):
    with pytest.raises(RegistryError, match="path segment"):
        store_module(root, b"x", name="demo", tag=tag)


def _edit_worker(root: str, worker: int, count: int) -> None:
    for i in range(count):
        with edit_registry(root, f"w{worker}-{i}") as draft:
            digest = draft.registry().resolve("demo").hash
            draft.assign_tag("demo", f"w{worker}-{i}", digest)


def test_concurrent_processes_lose_no_update(root):
    add_revision(root, "demo", "v1.0.0")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_edit_worker, args=(str(root), w, 25)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    tags = load_registry(root).entry("demo").tags
    assert {f"w{w}-{i}" for w in range(3) for i in range(25)} <= set(tags)
    history = (root / HISTORY_FILE).read_text().splitlines()
    assert len([line for line in history if '"w' in line]) == 75


hex64 = st.from_regex(r"[0-9a-f]{64}", fullmatch=True).map(lambda h: "sha256:" + h)
segment = st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,10}", fullmatch=True).filter(lambda s: ".." not in s)


@st.composite
def registry_docs(draw):
    out = {}
    used: set[str] = set()  # a revision belongs to one strategy
    for name in draw(st.sets(segment, max_size=4)):
        hashes = draw(st.lists(hex64.filter(lambda h: h not in used), min_size=1, max_size=4, unique=True))
        used.update(hashes)
        tags = draw(st.lists(segment, min_size=len(hashes), max_size=len(hashes), unique=True))
        locs = {h: {"tag": t, "path": f"{name}/{t}/{name}.js"} for h, t in zip(hashes, tags, strict=True)}
        tag_map = {t: h for h, t in zip(hashes, tags, strict=True)}
        tag_map["latest"] = draw(st.sampled_from(hashes))
        out[name] = {"tags": tag_map, "hashes": locs}
    return out


@settings(max_examples=60)
@given(registry_docs())
def test_documents_round_trip_through_text_unchanged(data):
    reg = Registry.from_dict(data)
    text = reg.dumps()
    again = Registry.from_text(text)
    assert again.dumps() == text
    assert json.loads(text) == {k: {"tags": v["tags"], "hashes": v["hashes"]} for k, v in data.items()}
    for name in data:
        assert again.resolve(name).hash == data[name]["tags"]["latest"]


def test_registry_file_mode_and_newline_on_disk(root):
    add_revision(root, "demo", "v1.0.0")
    raw = registry_path(root).read_bytes()
    assert raw.endswith(b"}\n") and b"\r" not in raw
    assert os.path.exists(root / "demo" / "v1.0.0" / "demo.js")


def test_a_memo_parses_an_unchanged_registry_once_and_a_changed_one_again(root):
    from meltica_lab.registry import ParsedRegistries

    add_revision(root, "demo", "v1.0.0")
    memo = ParsedRegistries()
    first = load_registry(root, memo=memo)
    assert load_registry(root, memo=memo) is first
    assert load_registry(root) is not first and load_registry(root) == first  # without a memo: read each time
    add_revision(root, "demo", "v1.1.0")
    changed = load_registry(root, memo=memo)
    assert changed is not first and "v1.1.0" in changed.strategies["demo"].tags
    assert load_registry(root, memo=ParsedRegistries()) is not changed  # another memo knows nothing


def test_the_same_hash_under_two_strategies_is_refused():
    digest = "sha256:" + "0" * 64
    doc = {
        name: {"tags": {"latest": digest}, "hashes": {digest: {"tag": "v1", "path": f"{name}/v1/{name}.js"}}}
        for name in ("a", "b")
    }
    with pytest.raises(RegistryError, match=r"b\.hashes\[.*also listed under a: a revision belongs to one strategy"):
        Registry.from_dict(doc)

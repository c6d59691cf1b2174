"""Loader: revisions from a root, resolution cache, hash-keyed metadata cache, integrity, legacy mode."""

from __future__ import annotations

import uuid

import pytest

from meltica_lab.config import AppConfig
from meltica_lab.errors import IntegrityError, ModuleError, NotFoundError, RegistryError, UsageError
from meltica_lab.loader import Loader
from meltica_lab.registry import edit_registry, registry_path, store_module
from tests.conftest import add_revision, module_source


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


def test_resolve_returns_a_revision_with_its_registry_facts(root, cache):
    h1 = add_revision(root, "demo", "v1.0.0")
    h2 = add_revision(root, "demo", "v1.1.0")
    with edit_registry(root, "t") as draft:
        draft.assign_tag("demo", "prod", h1)
    loader = Loader(root, cache_dir=cache)
    rev = loader.resolve("demo:prod")
    assert (rev.name, rev.hash, rev.tag, rev.tags) == ("demo", h1, "v1.0.0", ("latest", "prod", "v1.0.0"))
    assert rev.relpath == "demo/v1.0.0/demo.js" and rev.path.is_absolute()
    assert rev.size == len(rev.read_source()) and rev.metadata.name == "demo"
    assert rev.selector == f"demo@{h1}"
    assert loader.resolve("demo").hash == h1  # latest stayed on the first revision
    assert loader.resolve(f"demo@{h2[7:17]}").hash == h2


def test_warm_refresh_evaluates_no_javascript(root, cache):
    for i in range(5):  # bytes unique to this test: nothing evaluated earlier in the process can help
        add_revision(root, f"s{i}", "v1.0.0", body=f"/* {uuid.uuid4()} */")
    cold = Loader(root, cache_dir=cache).refresh()
    warm = Loader(root, cache_dir=cache).refresh()
    assert (cold.evaluated, cold.cached) == (5, 0)
    assert (warm.evaluated, warm.cached, warm.revisions) == (0, 5, 5)


def test_resolution_cache_keys_are_exact_so_tags_with_other_case_do_not_alias(root, cache):
    h1 = add_revision(root, "demo", "v1.0.0")
    h2 = add_revision(root, "demo", "v1.1.0")
    with edit_registry(root, "t") as draft:
        draft.assign_tag("demo", "Prod", h1)
        draft.assign_tag("demo", "prod", h2)
    loader = Loader(root, cache_dir=cache)
    assert loader.resolve("demo:Prod").hash == h1
    assert loader.resolve("demo:prod").hash == h2
    assert loader.resolve("demo:Prod").hash == h1


def test_tampered_module_is_reported_and_never_resolved(root, cache):
    add_revision(root, "demo", "v1.0.0")
    path = root / "demo" / "v1.0.0" / "demo.js"
    path.write_text(module_source("demo", "v1.0.0", body="globalThis.evil = 1;"))
    loader = Loader(root, cache_dir=cache)
    report = loader.refresh()
    assert report.evaluated == 0 and report.revisions == 0
    assert [p.kind for p in report.problems] == ["integrity"]
    with pytest.raises(IntegrityError, match="module hash mismatch") as info:
        loader.resolve("demo")
    assert str(path) in str(info.value)


def test_read_source_rechecks_bytes_changed_after_loading(root, cache):
    add_revision(root, "demo", "v1.0.0")
    rev = Loader(root, cache_dir=cache).resolve("demo")
    rev.path.write_bytes(rev.path.read_bytes() + b"\n// changed")
    with pytest.raises(IntegrityError, match="refusing to run it"):
        rev.read_source()


def test_invalid_module_is_a_problem_with_diagnostics(root, cache):
    source = b"module.exports = { metadata: { name: 'demo', tag: 'v1' }, create() {} ;"
    digest, rel = store_module(root, source, name="demo", tag="v1")
    with edit_registry(root, "t") as draft:
        draft.add_revision("demo", digest, "v1", rel)
    loader = Loader(root, cache_dir=cache)
    with pytest.raises(ModuleError) as info:
        loader.resolve("demo")
    assert info.value.diagnostics and info.value.diagnostics[0].stage == "compile"


def test_module_name_must_match_its_registry_entry(root, cache):
    source = module_source("other", "v1").encode()
    digest, rel = store_module(root, source, name="demo", tag="v1")
    with edit_registry(root, "t") as draft:
        draft.add_revision("demo", digest, "v1", rel)
    problems = Loader(root, cache_dir=cache).refresh().problems
    assert [p.kind for p in problems] == ["name"] and "does not match registry entry" in problems[0].message


def test_missing_file_is_a_problem_naming_it(root, cache):
    add_revision(root, "demo", "v1.0.0")
    (root / "demo" / "v1.0.0" / "demo.js").unlink()
    problems = Loader(root, cache_dir=cache).refresh().problems
    assert problems[0].kind == "missing" and "demo/v1.0.0/demo.js" in problems[0].message


def test_require_registry_fails_fast_with_a_clear_message(root, cache):
    with pytest.raises(RegistryError, match=r"registry required but .*registry\.json is missing"):
        Loader(root, config=AppConfig(require_registry=True), cache_dir=cache)


def test_legacy_mode_reads_flat_files_read_only(root, cache):
    (root / "noop.js").write_text(module_source("noop", None))
    (root / "mom.js").write_text(module_source("momentum", "1.2.0", key="version"))
    loader = Loader(root, config=AppConfig(), cache_dir=cache)
    assert loader.mode == "legacy" and loader.strategies() == ["momentum", "noop"]
    assert loader.resolve("noop:latest").tag == "0.0.0"
    assert loader.resolve("momentum").tag == "1.2.0"
    assert not registry_path(root).exists()


def test_legacy_mode_refuses_duplicate_names(root, cache):
    (root / "a.js").write_text(module_source("noop", "v1"))
    (root / "b.js").write_text(module_source("noop", "v2"))
    with pytest.raises(RegistryError, match="duplicate strategy name 'noop'"):
        Loader(root, config=AppConfig(), cache_dir=cache).refresh()


def test_revisions_are_listed_in_semantic_version_order(root, cache):
    for tag in ("v1.10.0", "v1.9.0", "v1.2.0"):
        add_revision(root, "demo", tag)
    assert [r.tag for r in Loader(root, cache_dir=cache).revisions("demo")] == ["v1.2.0", "v1.9.0", "v1.10.0"]
    with pytest.raises(NotFoundError):
        Loader(root, cache_dir=cache).revisions("nope")


def test_root_that_is_not_a_directory_is_an_error(tmp_path):
    with pytest.raises(RegistryError, match="is not a directory"):
        Loader(tmp_path / "missing")


def test_corrupt_cache_rows_are_misses_and_the_module_is_evaluated_again(root, cache):
    import sqlite3

    add_revision(root, "demo", "v1.0.0", body=f"/* {uuid.uuid4()} */")
    Loader(root, cache_dir=cache).refresh()  # a new Loader below has a cache of its own: only the disk is shared
    with sqlite3.connect(cache / "module-reports.sqlite3") as db:
        db.execute("UPDATE reports SET report = ?", (b"not a pickle",))
    report = Loader(root, cache_dir=cache).refresh()
    assert (report.evaluated, report.revisions, report.problems) == (1, 1, ())


def test_revision_path_is_the_root_joined_with_its_registry_path(root, cache):
    add_revision(root, "demo", "v1.0.0")
    rev = Loader(root, cache_dir=cache).resolve("demo")
    assert rev.path == root.resolve() / "demo" / "v1.0.0" / "demo.js" and rev.path.is_file()


def test_a_module_stopped_by_the_time_limit_is_evaluated_again_next_time(root, cache):
    from meltica_lab.jshost.limits import Limits

    add_revision(root, "slow", "v1.0.0", body=f"/* {uuid.uuid4()} */")
    path = root / "slow" / "v1.0.0" / "slow.js"
    source = path.read_text().replace(
        "module.exports", "const t0 = Date.now(); while (Date.now() - t0 < 400) {}\nmodule.exports", 1
    )
    from meltica_lab.registry import content_hash, edit_registry, store_module

    digest, rel = store_module(root, source.encode(), name="slow", tag="v2", layout="tag")
    with edit_registry(root, "t") as draft:
        draft.add_revision("slow", digest, "v2", rel)
    first = Loader(root, cache_dir=cache, limits=Limits(eval_seconds=0.1)).refresh()
    assert [p.kind for p in first.problems] == ["module"] and content_hash(source.encode()) == digest
    again = Loader(root, cache_dir=cache).refresh()
    assert again.problems == () and again.evaluated >= 1


def test_a_loader_closes_only_the_host_it_made_itself(root, cache):
    from meltica_lab.jshost.module import ModuleHost

    add_revision(root, "demo", "v1.0.0", body=f"/* {uuid.uuid4()} */")
    with ModuleHost() as given:
        with Loader(root, cache_dir=cache, host=given) as loader:
            assert loader.host is given and loader.refresh().evaluated == 1
        assert given.inspect(module_source("demo"), filename="demo.js").ok  # still open
    alone = Loader(root, cache_dir=cache)
    own = alone.host
    alone.close()
    with pytest.raises(UsageError, match="closed"):
        own.inspect(module_source("demo"), filename="demo.js")
    assert alone.host is not own and alone.host.inspect(module_source("demo"), filename="demo.js").ok
    alone.close()


def test_a_loader_given_a_cache_shares_what_it_learns_with_every_loader_of_that_cache(root, cache):
    from meltica_lab.module_cache import ModuleCache

    add_revision(root, "demo", "v1.0.0", body=f"/* {uuid.uuid4()} */")
    memory = ModuleCache(None)  # memory only: nothing reaches the disk
    assert Loader(root, cache=memory).refresh().evaluated == 1
    assert Loader(root, cache=memory).refresh().evaluated == 0
    assert Loader(root, cache_dir=cache).refresh().evaluated == 1
    with pytest.raises(UsageError, match="give cache or cache_dir, not both"):
        Loader(root, cache=memory, cache_dir=cache)

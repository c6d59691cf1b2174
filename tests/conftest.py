"""Shared fixtures: strategy module sources and roots built with the project's own registry code."""

from __future__ import annotations

from pathlib import Path

import pytest

from meltica_lab.registry import edit_registry, store_module


def module_source(name: str, tag: str | None = "v1.0.0", *, body: str = "", key: str = "tag") -> str:
    """A minimal valid strategy module."""
    version = f'  {key}: "{tag}",\n' if tag is not None else ""
    return (
        "module.exports = {\n"
        "  metadata: {\n"
        f'    name: "{name}",\n  {version}'
        f'    displayName: "{name} strategy",\n'
        '    events: ["Trade"],\n'
        "    config: [],\n"
        "  },\n"
        f"  create(env) {{ {body} return {{ onTrade() {{}} }}; }},\n"
        "};\n"
    )


def add_revision(root: Path, name: str, tag: str, *, body: str = "", layout: str = "tag") -> str:
    """Write a module revision under ``root`` and register it; returns its hash."""
    source = module_source(name, tag, body=body).encode()
    digest, rel = store_module(root, source, name=name, tag=tag, layout=layout)
    with edit_registry(root, f"add {name}:{tag}") as draft:
        draft.add_revision(name, digest, tag, rel)
    return digest


def snapshot_tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes (to prove a failed operation changed nothing)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty strategies root."""
    path = tmp_path / "strategies"
    path.mkdir()
    return path

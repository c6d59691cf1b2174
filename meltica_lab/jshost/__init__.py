"""The V8 sandbox: module evaluation, metadata, diagnostics, limits, and the JS runtime files."""

"""The package version, importable from every layer (the package facade imports the heavy layers lazily,
and no module below it may import the facade)."""

__version__ = "0.1.0"

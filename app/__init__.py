"""accert engine: everything the wizard and the CLI do, without Qt."""

__version__ = "0.1.0"

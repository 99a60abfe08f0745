"""Load the careaccess pytest plugin where its pytest11 entry point is not installed."""

from __future__ import annotations

from importlib.metadata import entry_points

# Naming the plugin a second time would register it twice once the entry point exists.
if not entry_points(group="pytest11", name="careaccess"):
    pytest_plugins = ["careaccess.testing.pytest_plugin"]

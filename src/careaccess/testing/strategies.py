"""Hypothesis strategies for careaccess values (placeholder module being filled in)."""

from __future__ import annotations


def _register_for_hypothesis() -> None:
    """Register careaccess types for ``st.from_type`` (called by hypothesis' entry point)."""

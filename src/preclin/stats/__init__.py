"""Statistics shared by the rooms: group comparisons, significance stars."""

from __future__ import annotations

from .tests import compare_groups, stars

__all__ = ["compare_groups", "stars"]

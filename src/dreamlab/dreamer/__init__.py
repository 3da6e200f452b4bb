"""Dreamer (DreamerV3-style): RSSM world model + actor-critic in imagination (issue 11)."""

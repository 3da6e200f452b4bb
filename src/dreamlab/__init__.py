"""dreamlab."""

"""Tests of dreamlab.report."""

"""Tests of dreamlab.curriculum."""

"""Verifiers: pure checks of a completion against its prompt's reference or tests."""

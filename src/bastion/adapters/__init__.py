"""Adapters: one package per technology, each implementing core ports."""

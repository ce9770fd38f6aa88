"""Typed Azure clients: Site Recovery (and the Recovery Services vault)."""

"""Mobility-agent installation strategies: push, manual (SSM Run Command or script bundles)."""

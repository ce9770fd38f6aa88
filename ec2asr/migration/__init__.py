"""The migration: stages, journal, plan, facade and report."""

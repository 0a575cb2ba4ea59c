"""Use cases: one function each, one transaction each. Interfaces call these, never the store directly."""

"""Follow-up state, promises and goals (issue #5)."""

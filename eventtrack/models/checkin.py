"""Check-in records and replay protection (issue #3)."""

"""Connect codes and who-met-whom extras (issue #4)."""

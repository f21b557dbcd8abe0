"""Production: real processes (gunicorn, mail workers) on PostgreSQL, faults, deployment."""

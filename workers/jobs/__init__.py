"""Job bodies: long operations outside a run, each registered under its name in backend/jobs/kinds.py."""

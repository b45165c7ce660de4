"""What the tests share that is not a fixture: the session's settings and services (env), accounts,
prompt files, factories for runs and their rows, waiting helpers, the test worker, tiny models. Test
modules import from here, never from a conftest or another test module (tests/test_layout.py)."""

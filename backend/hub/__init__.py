"""Pushing to the Hugging Face Hub: a snapshot as a dataset repository, a student as a model repository
(docs/hub.md)."""

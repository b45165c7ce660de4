"""One module or package per stage kind; each registers its Celery task(s) under the names the stage
registry (backend/runs/stages.py) gives."""

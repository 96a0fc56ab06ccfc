"""scheduler-engine logic, free of FastAPI, SQL and HTTP."""

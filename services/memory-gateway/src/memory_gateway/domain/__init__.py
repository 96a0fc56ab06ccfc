"""Memory logic, free of FastAPI, SQL and HTTP."""

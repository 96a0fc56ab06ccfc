"""observer-agent logic, free of FastAPI, SQL and HTTP."""

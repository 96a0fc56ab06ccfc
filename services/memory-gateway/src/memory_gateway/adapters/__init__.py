"""All SQL, Qdrant, Valkey and third-party calls of the memory-gateway."""

"""HTTP contracts: the request and response schemas a service serves and its typed client sends.

They live in core because services never import each other: the memory-gateway serves these models,
and `MemoryGatewayClient` (used by the planner and observer) speaks them.
"""

"""memory-gateway: remember, recall, search_docs, graph_neighbors, similar_events."""

__version__ = "0.1.0"

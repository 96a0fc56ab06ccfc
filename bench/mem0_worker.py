"""mem0 OSS in-process, driven by bench/mem0_peer.py over JSON lines; runs in mem0's own environment.

    .venvs/mem0-bench/bin/python bench/mem0_worker.py < requests > answers

Not for direct use: mem0_peer.py creates that environment (bench/mem0-requirements.txt), starts this
worker and speaks to it. One JSON object a line each way, one answer per request, in order:

- first line: the configuration, `{"connection_string", "base_url", "api_key", "model", "dimensions"}`;
  answer `{"ok": true}` once `Memory` is built (pgvector store, openai embedder and LLM at `base_url`);
- `{"op": "add", "items": [{"user_id", "text", "metadata"}, ...]}`: `Memory.add(text, infer=False)` for
  each item, one at a time; answer `{"latencies_ms": [...], "seconds": wall time}`;
- `{"op": "search", "queries": [{"user_id", "text", "kinds"}, ...], "top_k": 5}`: `Memory.search` for
  each, one at a time, filtered on the user (and on the metadata `kind` when `kinds` is a list); answer
  `{"latencies_ms": [...], "seconds": ..., "texts": [[text of each result], ...]}`;
- `{"op": "quit"}`: answer `{"ok": true}` and exit.

A request that fails answers `{"error": traceback}`. The protocol keeps the process's real stdout:
anything a library prints goes to stderr (the caller's log file). mem0 reads MEM0_TELEMETRY and MEM0_DIR
(its history database's directory) from the environment the caller sets.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from typing import IO, Any

from mem0 import Memory  # type: ignore[import-not-found]

Json = dict[str, Any]


def build(config: Json) -> Any:
    """mem0's `Memory` on pgvector, with the OpenAI-compatible embedder (and LLM, never called) at `base_url`."""
    openai = {"api_key": config["api_key"], "openai_base_url": config["base_url"]}
    return Memory.from_config(
        {
            "vector_store": {
                "provider": "pgvector",
                "config": {
                    "connection_string": config["connection_string"],
                    "collection_name": "mem0",
                    "embedding_model_dims": config["dimensions"],
                    "hnsw": True,
                },
            },
            "embedder": {
                "provider": "openai",
                "config": {"model": config["model"], "embedding_dims": config["dimensions"], **openai},
            },
            # add(infer=False) and search never call the LLM; mem0 builds its client all the same.
            "llm": {"provider": "openai", "config": {"model": "fake/chat-model", **openai}},
        }
    )


def add(memory: Any, items: list[Json]) -> Json:
    latencies: list[float] = []
    started = time.perf_counter()
    for item in items:
        call = time.perf_counter()
        memory.add(item["text"], user_id=item["user_id"], metadata=item["metadata"], infer=False)
        latencies.append((time.perf_counter() - call) * 1000)
    return {"latencies_ms": latencies, "seconds": time.perf_counter() - started}


def search(memory: Any, queries: list[Json], top_k: int) -> Json:
    latencies: list[float] = []
    texts: list[list[str]] = []
    started = time.perf_counter()
    for query in queries:
        filters: Json = {"user_id": query["user_id"]}
        if query.get("kinds"):
            filters["kind"] = {"in": query["kinds"]}
        call = time.perf_counter()
        found = memory.search(query["text"], top_k=top_k, filters=filters)
        latencies.append((time.perf_counter() - call) * 1000)
        texts.append([result["memory"] for result in found["results"]])
    return {"latencies_ms": latencies, "seconds": time.perf_counter() - started, "texts": texts}


def answer(out: IO[str], body: Json) -> None:
    out.write(json.dumps(body) + "\n")
    out.flush()


def main() -> None:
    # The protocol's own copy of stdout; fd 1 (print, libraries) now goes to stderr.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    memory = build(json.loads(sys.stdin.readline()))
    answer(out, {"ok": True})
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if request["op"] == "add":
                answer(out, add(memory, request["items"]))
            elif request["op"] == "search":
                answer(out, search(memory, request["queries"], int(request["top_k"])))
            elif request["op"] == "quit":
                answer(out, {"ok": True})
                return
            else:
                answer(out, {"error": f"unknown op {request['op']!r}"})
        except Exception:
            answer(out, {"error": traceback.format_exc()})


if __name__ == "__main__":
    main()

"""Tiny LLM call tracer: every wrapped call appends one JSON line to traces/app.jsonl.

Three ways to tag a call with the feature, user, prompt template and agent that caused it:

    traced_call(feature="summarization", user_id=user.id, model="claude-sonnet-4-5", messages=[...])
    with tracer.trace(tags={"feature": "upload"}) as span: span.complete(model=..., messages=[...])
    @track_llm_call(agent_id="customer-support-v2")      # on a function that returns the LLM response

Each record also says where in the code the call was made ("callsite": "app/summarize.py:21"),
so LLM Cost Lens can put the cost next to that line. Illustrative code for the demo workspace.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from app.clients import complete

ROOT = Path(__file__).resolve().parent.parent
TRACE_FILE = ROOT / "traces" / "app.jsonl"

# Agents that are a product feature of their own.
AGENT_FEATURES = {"customer-support-v2": "support-agent"}

_lock = threading.Lock()


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def _site(frame_depth: int) -> str:
    """'app/summarize.py:21' for the caller `frame_depth` frames up."""
    frame = sys._getframe(frame_depth + 1)
    return _relative(frame.f_code.co_filename, frame.f_lineno)


def _relative(filename: str, line: int) -> str:
    path = Path(filename).resolve()
    try:
        rel = path.relative_to(ROOT).as_posix()
    except ValueError:
        rel = path.name
    return f"{rel}:{line}"


def _provider(model: str) -> str:
    if model.startswith("claude"):
        return "anthropic"
    if model.startswith("gemini"):
        return "google"
    if model.startswith(("gpt-", "o1", "o3", "o4")):
        return "openai"
    return "acme"


def _usage(response: Any) -> dict[str, int]:
    """Token counts in one convention: input EXCLUDES cache reads/writes; reasoning is part of output."""
    u = getattr(response, "usage", None) or getattr(response, "usage_metadata", None)
    get = lambda name: int(getattr(u, name, 0) or 0)  # noqa: E731
    if hasattr(u, "cache_read_input_tokens"):  # Anthropic: input already excludes the cache
        return {
            "input_tokens": get("input_tokens"),
            "output_tokens": get("output_tokens"),
            "cache_read_tokens": get("cache_read_input_tokens"),
            "cache_write_tokens": get("cache_creation_input_tokens"),
            "reasoning_tokens": 0,
        }
    if hasattr(u, "prompt_token_count"):  # Gemini
        cached = get("cached_content_token_count")
        thoughts = get("thoughts_token_count")
        return {
            "input_tokens": get("prompt_token_count") - cached,
            "output_tokens": get("candidates_token_count") + thoughts,
            "cache_read_tokens": cached,
            "cache_write_tokens": 0,
            "reasoning_tokens": thoughts,
        }
    # OpenAI: prompt_tokens includes the cached part
    cached = int(getattr(getattr(u, "prompt_tokens_details", None), "cached_tokens", 0) or 0)
    reasoning = int(getattr(getattr(u, "completion_tokens_details", None), "reasoning_tokens", 0) or 0)
    return {
        "input_tokens": get("prompt_tokens") - cached,
        "output_tokens": get("completion_tokens"),
        "cache_read_tokens": cached,
        "cache_write_tokens": 0,
        "reasoning_tokens": reasoning,
    }


def _write(
    *,
    model: str,
    response: Any,
    started: float,
    trace_id: str,
    parent_id: str | None,
    metadata: dict[str, Any],
    callsite: str,
    error: str | None = None,
) -> str:
    call_id = _new_id("c")
    record: dict[str, Any] = {
        "ts": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "id": call_id,
        "trace_id": trace_id,
        "parent_id": parent_id,
        "provider": _provider(model),
        "model": model,
        **(_usage(response) if response is not None else {"input_tokens": 0, "output_tokens": 0}),
        "latency_ms": round((time.time() - started) * 1000),
        "status": "error" if error else "ok",
        "error": error,
        "metadata": {k: v for k, v in metadata.items() if v is not None},
        "callsite": callsite,
    }
    line = json.dumps({k: v for k, v in record.items() if v is not None}, separators=(",", ":"))
    with _lock, TRACE_FILE.open("a", encoding="utf-8") as f:
        f.write(line + "\n")
    return call_id


def _call(model: str, messages: list[dict], metadata: dict, trace_id: str, parent_id: str | None, callsite: str, **kwargs: Any):
    started = time.time()
    try:
        response = complete(model=model, messages=messages, **kwargs)
    except Exception as e:  # still record the attempt: errors cost money too
        _write(model=model, response=getattr(e, "response", None), started=started, trace_id=trace_id,
               parent_id=parent_id, metadata=metadata, callsite=callsite, error=type(e).__name__)
        raise
    call_id = _write(model=model, response=response, started=started, trace_id=trace_id,
                     parent_id=parent_id, metadata=metadata, callsite=callsite)
    return response, call_id


def traced_call(
    *,
    feature: str,
    model: str,
    messages: list[dict],
    user_id: str | None = None,
    template_version: str | None = None,
    trace_id: str | None = None,
    parent_id: str | None = None,
    **kwargs: Any,
):
    """One LLM call, tagged. Returns the provider's response."""
    metadata = {"feature": feature, "user_id": user_id, "template_version": template_version}
    response, _ = _call(model, messages, metadata, trace_id or _new_id("t"), parent_id, _site(1), **kwargs)
    return response


class Span:
    """A group of calls sharing a trace id and tags; each call records the span's call site."""

    def __init__(self, tags: dict[str, Any], callsite: str):
        self.trace_id = _new_id("t")
        self.tags = dict(tags)
        self.callsite = callsite
        self.last_call_id: str | None = None

    def complete(self, *, model: str, messages: list[dict], tool: str | None = None, **kwargs: Any):
        metadata = {**self.tags, "tool": tool}
        response, self.last_call_id = _call(model, messages, metadata, self.trace_id, self.last_call_id,
                                            self.callsite, **kwargs)
        return response

    def end(self) -> None:
        pass


class Tracer:
    @contextlib.contextmanager
    def trace(self, tags: dict[str, Any] | None = None) -> Iterator[Span]:
        span = Span(tags or {}, _site(2))  # 2: skip contextmanager's own frame
        try:
            yield span
        finally:
            span.end()

    def start_run(self, metadata: dict[str, Any] | None = None) -> Span:
        return Span(metadata or {}, _site(1))


tracer = Tracer()


def track_llm_call(agent_id: str, feature: str | None = None) -> Callable:
    """Decorator for a function that makes one LLM call and returns the provider's response.

    The decorated function receives `model=`; the wrapper also accepts trace_id=, parent_id=, user_id= and tool=.
    """

    def decorate(fn: Callable) -> Callable:
        # co_firstlineno of a decorated function is the line of its first decorator
        callsite = _relative(fn.__code__.co_filename, fn.__code__.co_firstlineno)

        @functools.wraps(fn)
        def wrapper(*args: Any, model: str, trace_id: str | None = None, parent_id: str | None = None,
                    user_id: str | None = None, tool: str | None = None, **kwargs: Any):
            metadata = {"feature": feature or AGENT_FEATURES.get(agent_id), "user_id": user_id,
                        "agent": agent_id, "tool": tool}
            started = time.time()
            response = fn(*args, model=model, **kwargs)
            call_id = _write(model=model, response=response, started=started, trace_id=trace_id or _new_id("t"),
                             parent_id=parent_id, metadata=metadata, callsite=callsite)
            return response, call_id

        return wrapper

    return decorate

"""Provider SDK clients behind one `complete()` function (the SDKs are imported lazily)."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _anthropic():
    import anthropic

    return anthropic.Anthropic()


@cache
def _openai():
    import openai

    return openai.OpenAI()


@cache
def _google():
    from google import genai

    return genai.Client()


@cache
def _internal():
    from acme_llm import Client  # in-house model served for on-prem tenants

    return Client()


def complete(*, model: str, messages: list[dict], max_tokens: int = 1024, **kwargs: Any) -> Any:
    if model.startswith("claude"):
        system = "\n".join(m["content"] for m in messages if m["role"] == "system")
        chat = [m for m in messages if m["role"] != "system"]
        return _anthropic().messages.create(model=model, system=system, messages=chat, max_tokens=max_tokens, **kwargs)
    if model.startswith("gemini"):
        text = "\n\n".join(m["content"] for m in messages)
        return _google().models.generate_content(model=model, contents=text)
    if model.startswith("acme-"):
        return _internal().generate(model=model, messages=messages, max_tokens=max_tokens)
    return _openai().chat.completions.create(model=model, messages=messages, max_completion_tokens=max_tokens, **kwargs)


def text_of(response: Any) -> str:
    if hasattr(response, "content"):  # Anthropic
        return "".join(getattr(b, "text", "") for b in response.content)
    if hasattr(response, "choices"):  # OpenAI
        return response.choices[0].message.content or ""
    return getattr(response, "text", "")

"""Summaries of long documents for the dashboard."""

from app.clients import text_of
from app.llm_tracing import traced_call

SYSTEM = "You summarize business documents for busy readers. Keep numbers, names and dates exact."


def summarize_document(user, document: str, max_words: int = 150) -> str:
    prompt = f"Summarize in at most {max_words} words:\n\n{document}"
    response = traced_call(
        feature="summarization",
        user_id=user.id,
        model="claude-sonnet-4-5",
        template_version="v2.1",
        messages=[
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": prompt},
        ],
        max_tokens=600,
    )
    return text_of(response)

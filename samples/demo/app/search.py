"""Search answers: rewrite the query, retrieve, answer with citations."""

from app.clients import text_of
from app.llm_tracing import tracer
from app.retrieval import retrieve


def answer_search(user, query: str) -> str:
    run = tracer.start_run(metadata={"feature": "search", "template_version": "v2.1", "user_id": user.id})
    rewritten = text_of(run.complete(
        model="gpt-4.1-mini",
        messages=[{"role": "user", "content": f"Rewrite as a search query: {query}"}],
        max_tokens=60,
    ))
    passages = retrieve(rewritten, k=8)
    if not passages:
        run.end()
        return "No results."
    answer = run.complete(
        model="gpt-4.1-mini",
        messages=[
            {"role": "system", "content": "Answer from the passages only. Cite them as [1], [2]..."},
            {"role": "user", "content": "\n\n".join(passages) + f"\n\nQuestion: {query}"},
        ],
    )
    run.end()
    return text_of(answer)

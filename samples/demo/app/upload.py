"""Ingestion of uploaded files: text extraction and image descriptions."""

from app.clients import text_of
from app.llm_tracing import tracer


def ingest_upload(user, upload) -> dict:
    pages = upload.read_pages()
    with tracer.trace(tags={"feature": "upload", "user_id": user.id}) as span:
        response = span.complete(
            model="gemini-2.5-flash",
            messages=[{"role": "user", "content": "Extract the text and tables of this document as Markdown:\n\n" + pages}],
        )
    return {"markdown": text_of(response), "pages": upload.page_count}


def describe_images(user, images: list[str]) -> str:
    # TODO: tag this one too; until then its cost shows up as "unattributed" in the report
    with tracer.trace() as span:
        response = span.complete(
            model="claude-sonnet-4-5",
            messages=[{"role": "user", "content": "Describe these images for search and accessibility:\n" + "\n".join(images)}],
        )
    return text_of(response)

"""Ticket classification: one short call per incoming ticket."""

from app.clients import text_of
from app.llm_tracing import traced_call

LABELS = ["billing", "bug", "how-to", "account", "feature-request", "other"]


def classify_ticket(ticket, tenant) -> str:
    response = traced_call(feature="classification", user_id=ticket.customer_id, template_version="v5",
                           model="acme-internal-llm-v1" if tenant.on_prem else "gpt-4o-mini",
                           messages=[{"role": "user", "content": f"Label one of {LABELS}:\n{ticket.subject}\n{ticket.body[:2000]}"}],
                           max_tokens=5)
    label = text_of(response).strip().lower()
    return label if label in LABELS else "other"

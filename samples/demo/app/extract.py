"""Structured extraction from contracts (o3: reasoning tokens are billed as output)."""

import json

from app.clients import text_of
from app.llm_tracing import traced_call

SCHEMA = {"parties": [], "start_date": "", "end_date": "", "renewal": "", "liability_cap": ""}


def extract_contract_terms(user, contract_text: str) -> dict:
    response = traced_call(feature="extraction", user_id=user.id, model="o3", template_version="v1.4",
                           messages=[{"role": "user", "content": f"Fill this JSON from the contract: {json.dumps(SCHEMA)}\n\n{contract_text}"}])
    return json.loads(text_of(response))

"""Customer support agent: answers a ticket in a few tool-using steps."""

from pathlib import Path

from app.clients import complete, text_of
from app.llm_tracing import _new_id, track_llm_call

SYSTEM_PROMPT = (Path(__file__).parent / "support_system_prompt.md").read_text()  # ~6k tokens, prompt-cached
MAX_STEPS = 8
TOOLS = [
    {"name": "kb_lookup", "description": "Search the help center", "input_schema": {"type": "object"}},
    {"name": "order_status", "description": "Status of an order", "input_schema": {"type": "object"}},
    {"name": "create_ticket", "description": "Escalate to a human", "input_schema": {"type": "object"}},
]


@track_llm_call(agent_id='customer-support-v2')
def agent_step(history: list[dict], *, model: str):
    return complete(
        model=model,
        messages=[{"role": "system", "content": SYSTEM_PROMPT}, *history],
        max_tokens=800,
        tools=TOOLS,
    )


def run_tool(call) -> dict:
    return {"type": "tool_result", "tool_use_id": call.id, "content": f"(result of {call.name})"}


def answer_ticket(ticket) -> str:
    trace_id, parent_id, tool = _new_id("t"), None, None
    history = [{"role": "user", "content": ticket.body}]
    for _ in range(MAX_STEPS):
        # the cheap model for low-priority tickets
        model = "claude-haiku-4-5" if ticket.priority == "low" else "claude-sonnet-4-5"
        response, parent_id = agent_step(history, model=model, trace_id=trace_id, parent_id=parent_id,
                                         user_id=ticket.customer_id, tool=tool)
        call = next((b for b in response.content if b.type == "tool_use"), None)
        if call is None:
            return text_of(response)
        tool = call.name
        history += [{"role": "assistant", "content": response.content},
                    {"role": "user", "content": [run_tool(call)]}]
    return "Escalated to a human agent."

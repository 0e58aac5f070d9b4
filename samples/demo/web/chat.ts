/** In-app assistant chat: one completion per user message; the conversation id is the trace id. */
import { interceptCompletion, type ChatClient, type ChatParams } from './tracing';

const CHAT_SYSTEM = 'You are the in-app assistant of Acme Cloud. Answer briefly; link to docs when useful.';

export async function chatReply(
  client: ChatClient,
  conversationId: string,
  history: ChatParams['messages'],
): Promise<string> {
  const reply = await interceptCompletion(
    'chat',
    conversationId,
    client,
    {
      model: 'gpt-4o-2024-08-06',
      max_tokens: 800,
      messages: [{ role: 'system', content: CHAT_SYSTEM }, ...history.slice(-20)],
    },
  );
  return reply.text;
}

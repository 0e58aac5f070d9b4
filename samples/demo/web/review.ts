/** Pull-request review bot: an agent loop over the diff, plus a one-paragraph summary for the PR description. */
import { interceptCompletion, measureLLM, type ChatClient, type ChatParams } from './tracing';

export interface PullRequest {
  number: number;
  title: string;
  diff: string;
  files: string[];
}

const REVIEW_MODEL = 'claude-sonnet-4-5-20250929';
const MAX_STEPS = 8;

const REVIEW_SYSTEM = `You review pull requests. Look for bugs, missing tests and risky changes.
Reply READ <path> to see a file, or DONE followed by your review comments.`;

export async function reviewPullRequest(client: ChatClient, pr: PullRequest, readFile: (p: string) => Promise<string>): Promise<string> {
  const traceId = `pr-${pr.number}-${Date.now()}`;
  const params: ChatParams = {
    model: REVIEW_MODEL,
    max_tokens: 2048,
    messages: [
      { role: 'system', content: REVIEW_SYSTEM },
      { role: 'user', content: `# ${pr.title}\n\n${pr.diff}` },
    ],
  };
  for (let step = 0; step < MAX_STEPS; step++) {
    const res = await interceptCompletion('code-review', traceId, client, params);
    const read = /^READ (\S+)/.exec(res.text);
    if (!read) return res.text.replace(/^DONE\s*/, '');
    params.messages.push({ role: 'assistant', content: res.text }, { role: 'user', content: await readFile(read[1]) });
  }
  return 'Review stopped after too many steps.';
}

export async function summarizePullRequest(client: ChatClient, pr: PullRequest): Promise<string> {
  const res = await measureLLM("summarize", "gpt-4.1-mini", () =>
    client.complete({
      model: 'gpt-4.1-mini',
      max_tokens: 300,
      messages: [{ role: 'user', content: `Summarize this change in one paragraph:\n\n${pr.diff.slice(0, 20000)}` }],
    }),
  );
  return res.text;
}

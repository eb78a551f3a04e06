// cohere-ai: CohereClientV2.chatStream (v2 chat, SSE), environment ${GATEWAY_URL}/cohere, the
// gateway key as token (Authorization: Bearer).
import { run, gatewayURL, gatewayKey } from './lib.mjs';
import { CohereClientV2 } from 'cohere-ai';

run(async () => {
  const client = new CohereClientV2({ token: gatewayKey, environment: `${gatewayURL}/cohere`, maxRetries: 0, timeoutInSeconds: 20 });
  const stream = await client.chatStream({ model: 'command-r-plus-08-2024', messages: [{ role: 'user', content: 'Say hi' }] });
  let text = '';
  let chunks = 0;
  let usage = null;
  for await (const ev of stream) {
    if (ev.type === 'content-delta') {
      chunks++;
      text += ev.delta?.message?.content?.text ?? '';
    }
    if (ev.type === 'message-end') usage = ev.delta?.usage ?? null;
  }
  return { calls: [{ call: 'chat/stream', text, chunks, usage }] };
});

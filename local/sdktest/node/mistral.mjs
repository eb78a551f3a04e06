// @mistralai/mistralai: chat.stream, serverURL ${GATEWAY_URL}/mistral, the gateway key as apiKey
// (Authorization: Bearer).
import { run, gatewayURL, gatewayKey } from './lib.mjs';
import { Mistral } from '@mistralai/mistralai';

run(async () => {
  const client = new Mistral({ apiKey: gatewayKey, serverURL: `${gatewayURL}/mistral`, timeoutMs: 20000, retryConfig: { strategy: 'none' } });
  const stream = await client.chat.stream({ model: 'mistral-small-latest', messages: [{ role: 'user', content: 'Say hi' }] });
  let text = '';
  let chunks = 0;
  let usage = null;
  for await (const ev of stream) {
    chunks++;
    const content = ev.data.choices[0]?.delta?.content;
    if (typeof content === 'string') text += content;
    if (ev.data.usage) usage = ev.data.usage;
  }
  return { calls: [{ call: 'chat/stream', text, chunks, usage }] };
});

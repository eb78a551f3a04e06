// openai's AzureOpenAI client: a chat completion and a streamed one, endpoint ${GATEWAY_URL}/azure,
// the gateway key as apiKey (sent as api-key), a deployment and an api-version.
import { run, gatewayURL, gatewayKey } from './lib.mjs';
import { AzureOpenAI } from 'openai';

run(async () => {
  const client = new AzureOpenAI({
    endpoint: `${gatewayURL}/azure`,
    apiKey: gatewayKey,
    apiVersion: '2024-10-21',
    deployment: 'gpt-4o-deploy',
    maxRetries: 0,
    timeout: 20000,
  });
  const calls = [];
  const params = { model: 'gpt-4o', messages: [{ role: 'user', content: 'Say hi' }] };

  const done = await client.chat.completions.create(params);
  calls.push({ call: 'chat/json', text: done.choices[0].message.content, chunks: 0, usage: done.usage });

  const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let chunks = 0;
  let usage = null;
  for await (const chunk of stream) {
    chunks++;
    text += chunk.choices[0]?.delta?.content ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  calls.push({ call: 'chat/stream', text, chunks, usage });
  return { calls };
});

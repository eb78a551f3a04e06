// openai: a streamed chat completion (with the usage chunk), responses.create and
// embeddings.create through ${GATEWAY_URL}/openai/v1.
import { run, gatewayURL, gatewayKey } from './lib.mjs';
import OpenAI from 'openai';

run(async () => {
  const client = new OpenAI({ apiKey: gatewayKey, baseURL: `${gatewayURL}/openai/v1`, maxRetries: 0, timeout: 20000 });
  const calls = [];

  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Say hi' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let chunks = 0;
  let usage = null;
  for await (const chunk of stream) {
    chunks++;
    text += chunk.choices[0]?.delta?.content ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  calls.push({ call: 'chat/stream', text, chunks, usage });

  const resp = await client.responses.create({ model: 'gpt-4.1-mini', input: 'Say hi' });
  calls.push({ call: 'responses', text: resp.output_text, chunks: 0, usage: resp.usage });

  // The SDK asks for base64 and decodes it to floats itself.
  const emb = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello' });
  calls.push({ call: 'embeddings', text: JSON.stringify(emb.data[0].embedding), chunks: 0, usage: emb.usage });
  return { calls };
});

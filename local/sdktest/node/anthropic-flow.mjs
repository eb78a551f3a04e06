// The Anthropic flow both SDK lines run: with the gateway key as apiKey and as authToken, one
// messages.create (JSON) and one messages.stream, through ${GATEWAY_URL}/anthropic.
import { gatewayURL, gatewayKey } from './lib.mjs';

export async function anthropicFlow(Anthropic, model) {
  const calls = [];
  for (const auth of ['apiKey', 'authToken']) {
    const client = new Anthropic({ [auth]: gatewayKey, baseURL: `${gatewayURL}/anthropic`, maxRetries: 0, timeout: 20000 });
    const params = { model, max_tokens: 64, messages: [{ role: 'user', content: `Say hi (${auth})` }] };

    const msg = await client.messages.create(params);
    calls.push({ call: `${auth}/json`, text: msg.content.map((b) => b.text).join(''), chunks: 0, usage: msg.usage });

    const stream = client.messages.stream(params);
    let chunks = 0;
    stream.on('text', () => chunks++);
    const final = await stream.finalMessage();
    calls.push({ call: `${auth}/stream`, text: final.content.map((b) => b.text).join(''), chunks, usage: final.usage });
  }
  return { calls };
}

// The adapter flow both SDK lines run against the gateway's Anthropic adapter route
// (${GATEWAY_URL}/v1/messages, LiteLLM's seed config), whose backend is an OpenAI-format mock:
// messages.create and messages.stream (finalMessage) with text and with tool use, then a bad
// request on a streaming call, which must raise the SDK's BadRequestError.
import { gatewayURL, gatewayKey } from './lib.mjs';

const model = 'my-fake-claude-endpoint';
const tools = [{
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
}];

export async function adapterFlow(Anthropic) {
  const client = new Anthropic({ apiKey: gatewayKey, baseURL: gatewayURL, maxRetries: 0, timeout: 20000 });
  const calls = [];
  for (const kind of ['text', 'tools']) {
    const params = { model, max_tokens: 256, messages: [{ role: 'user', content: kind === 'text' ? 'Say hello' : 'Weather in Paris?' }] };
    if (kind === 'tools') params.tools = tools;

    const msg = await client.messages.create(params);
    calls.push({ call: `${kind}/create`, message: msg });

    const stream = client.messages.stream(params);
    let textEvents = 0;
    let deltaUsage = null;
    stream.on('text', () => textEvents++);
    stream.on('streamEvent', (ev) => { if (ev.type === 'message_delta') deltaUsage = ev.usage; });
    const final = await stream.finalMessage();
    calls.push({ call: `${kind}/stream`, message: final, textEvents, deltaUsage });
  }
  try {
    await client.messages.stream({ model, max_tokens: 5, messages: ['hi'] }).finalMessage();
    calls.push({ call: 'bad/stream', error: null });
  } catch (err) {
    calls.push({ call: 'bad/stream', error: { class: err.constructor.name, status: err.status, type: err.error && err.error.error && err.error.error.type } });
  }
  return { calls };
}

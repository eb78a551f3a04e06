// @google-cloud/vertexai: generateContent and generateContentStream through
// ${GATEWAY_URL}/vertex_ai. The SDK needs a Google access token before it sends anything: a stub
// auth client hands it one (ya29.sdk-stub), which the gateway must replace with its own. The
// gateway key goes in x-litellm-api-key (customHeaders). The SDK only speaks https://
// (https://${apiEndpoint}/v1/...): the fetch below sends its calls to the loopback gateway over
// plain http, path and headers unchanged.
import { run, gatewayURL, gatewayKey } from './lib.mjs';
import { VertexAI } from '@google-cloud/vertexai';

const gateway = new URL(gatewayURL);
const recordingFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = typeof input === 'string' ? input : input.url;
  return recordingFetch(url.replace(`https://${gateway.host}/`, `http://${gateway.host}/`), init);
};

const stubAuth = {
  async getAccessToken() {
    return { token: 'ya29.sdk-stub' };
  },
  async getRequestHeaders() {
    return { Authorization: 'Bearer ya29.sdk-stub' };
  },
};

run(async () => {
  const vertex = new VertexAI({
    project: 'sdk-project',
    location: 'us-central1',
    apiEndpoint: `${gateway.host}/vertex_ai`,
    googleAuthOptions: { authClient: stubAuth },
  });
  const model = vertex.getGenerativeModel(
    { model: 'gemini-2.0-flash' },
    { customHeaders: new Headers({ 'x-litellm-api-key': gatewayKey }), timeout: 20000 },
  );
  const calls = [];
  const req = { contents: [{ role: 'user', parts: [{ text: 'Say hi' }] }] };

  const done = await model.generateContent(req);
  const first = done.response.candidates[0].content.parts.map((p) => p.text).join('');
  calls.push({ call: 'generateContent', text: first, chunks: 0, usage: done.response.usageMetadata });

  const streamed = await model.generateContentStream(req);
  let text = '';
  let chunks = 0;
  for await (const chunk of streamed.stream) {
    chunks++;
    text += chunk.candidates[0].content.parts.map((p) => p.text).join('');
  }
  const whole = await streamed.response;
  calls.push({ call: 'streamGenerateContent', text, chunks, usage: whole.usageMetadata });
  return { calls };
});

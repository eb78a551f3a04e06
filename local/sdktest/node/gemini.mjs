// @google/generative-ai: generateContent and generateContentStream, the gateway key as apiKey
// (sent as x-goog-api-key), baseUrl ${GATEWAY_URL}/gemini.
import { run, gatewayURL, gatewayKey } from './lib.mjs';
import { GoogleGenerativeAI } from '@google/generative-ai';

run(async () => {
  const model = new GoogleGenerativeAI(gatewayKey).getGenerativeModel(
    { model: 'gemini-2.0-flash' },
    { baseUrl: `${gatewayURL}/gemini`, timeout: 20000 },
  );
  const calls = [];

  const done = await model.generateContent('Say hi');
  calls.push({ call: 'generateContent', text: done.response.text(), chunks: 0, usage: done.response.usageMetadata });

  const streamed = await model.generateContentStream('Say hi');
  let text = '';
  let chunks = 0;
  for await (const chunk of streamed.stream) {
    chunks++;
    text += chunk.text();
  }
  const whole = await streamed.response;
  calls.push({ call: 'streamGenerateContent', text, chunks, usage: whole.usageMetadata });
  return { calls };
});

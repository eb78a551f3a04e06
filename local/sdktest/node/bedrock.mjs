// @aws-sdk/client-bedrock-runtime: Converse and ConverseStream in Bedrock API-key mode
// (AWS_BEARER_TOKEN_BEDROCK = the gateway key, sent as Authorization: Bearer), endpoint
// ${GATEWAY_URL}/bedrock. The model id holds a ':' that the SDK sends as %3A. HTTP/1.1: the
// client's default HTTP/2 handler cannot speak to a plain-http loopback server, and response
// streams (ConverseStream) need no HTTP/2. The SDK sends through node's http module, not
// fetch, so lib.mjs records nothing here: the Go test checks what the upstream received.
import { run, gatewayURL, gatewayKey } from './lib.mjs';
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export const modelId = 'anthropic.claude-3-5-sonnet-20240620-v1:0';

run(async () => {
  process.env.AWS_BEARER_TOKEN_BEDROCK = gatewayKey;
  const client = new BedrockRuntimeClient({
    region: 'us-east-1',
    endpoint: `${gatewayURL}/bedrock`,
    authSchemePreference: ['httpBearerAuth'],
    requestHandler: new NodeHttpHandler({ requestTimeout: 20000 }),
    maxAttempts: 1,
  });
  const messages = [{ role: 'user', content: [{ text: 'Say hi' }] }];
  const calls = [];

  const done = await client.send(new ConverseCommand({ modelId, messages, inferenceConfig: { maxTokens: 16 } }));
  calls.push({ call: 'converse', text: done.output.message.content.map((c) => c.text).join(''), chunks: 0, usage: done.usage });

  const streamed = await client.send(new ConverseStreamCommand({ modelId, messages, inferenceConfig: { maxTokens: 16 } }));
  let text = '';
  let chunks = 0;
  let usage = null;
  for await (const ev of streamed.stream) {
    chunks++;
    if (ev.contentBlockDelta) text += ev.contentBlockDelta.delta.text;
    if (ev.metadata) usage = ev.metadata.usage;
  }
  calls.push({ call: 'converseStream', text, chunks, usage });
  return { calls };
});

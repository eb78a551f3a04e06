// langfuse: one trace, flushed to ${GATEWAY_URL}/langfuse/api/public/ingestion; the gateway key is
// the secret key (the password of the Basic pair). flushAsync never throws, so the ingestion
// call's status is checked here.
import { run, gatewayURL, gatewayKey } from './lib.mjs';
import { Langfuse } from 'langfuse';

run(async () => {
  const langfuse = new Langfuse({
    publicKey: 'pk-lf-sdktest',
    secretKey: gatewayKey,
    baseUrl: `${gatewayURL}/langfuse`,
    flushAt: 1,
    fetchRetryCount: 0,
    requestTimeout: 20000,
  });
  const problems = [];
  langfuse.on('error', (e) => problems.push(String(e)));
  langfuse.on('warning', (e) => problems.push(String(e && e.message ? e.message : e)));
  const trace = langfuse.trace({ id: 'trace-sdktest-1', name: 'sdktest', input: { q: 'hi' } });
  await langfuse.flushAsync();
  await langfuse.shutdownAsync();
  if (problems.length > 0) throw new Error('langfuse: ' + problems.join('; '));
  return { calls: [{ call: 'ingestion', text: trace.id, chunks: 0, usage: null }] };
});

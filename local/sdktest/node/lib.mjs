// Shared by every SDK script: the gateway's address and key from the environment, a record of
// every HTTP request the SDK sends (so the Go test can compare it byte for byte with what the
// upstream received), and one JSON result line on stdout.
//
// Import it FIRST: ES modules are evaluated in import order, so globalThis.fetch is wrapped
// before any SDK module is evaluated (the SDKs read globalThis.fetch when a client is built or
// a call is made).

export const RESULT_PREFIX = 'SDKTEST_RESULT ';
export const FAILURE_PREFIX = 'SDKTEST_FAILURE ';

export function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

export const gatewayURL = env('GATEWAY_URL');
export const gatewayKey = env('GATEWAY_KEY');

// sent: each request as the SDK put it on the wire (method, URL, headers, body in base64) and
// the status it got back.
const sent = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async function recordingFetch(input, init) {
  // duplex: required by undici when the body is a stream; harmless otherwise.
  const req = new Request(input, init && init.body != null ? { duplex: 'half', ...init } : init);
  const body = req.body ? Buffer.from(await req.clone().arrayBuffer()) : Buffer.alloc(0);
  const entry = {
    method: req.method,
    url: req.url,
    headers: Object.fromEntries(req.headers),
    body: body.toString('base64'),
    status: 0,
  };
  sent.push(entry);
  const resp = await realFetch(req);
  entry.status = resp.status;
  return resp;
};

// run calls flow, prints its result and the requests sent as one line, and exits: 0, or 1
// with the error on one SDKTEST_FAILURE line on stderr (its class, message, and the HTTP
// status an SDK error carries), then the stack and the requests sent.
export function run(flow) {
  flow().then(
    (result) => {
      process.stdout.write(RESULT_PREFIX + JSON.stringify({ ...result, sent }) + '\n');
      process.exit(0);
    },
    (err) => {
      const failure = {
        class: err && err.constructor ? err.constructor.name : typeof err,
        message: String(err && err.message ? err.message : err),
        status: (err && (err.status ?? err.statusCode)) || 0,
      };
      process.stderr.write(FAILURE_PREFIX + JSON.stringify(failure) + '\n' + (err && err.stack ? err.stack : '') + '\n');
      process.stderr.write('requests sent: ' + JSON.stringify(sent.map((s) => `${s.method} ${s.url} -> ${s.status}`)) + '\n');
      process.exit(1);
    },
  );
}

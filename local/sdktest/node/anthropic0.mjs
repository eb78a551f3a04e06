// @anthropic-ai/sdk 0.x (package alias anthropic-sdk-0): apiKey goes out as x-api-key,
// authToken as Authorization: Bearer.
import { run } from './lib.mjs';
import Anthropic from 'anthropic-sdk-0';
import { anthropicFlow } from './anthropic-flow.mjs';

run(() => anthropicFlow(Anthropic, 'claude-3-5-haiku-20241022'));

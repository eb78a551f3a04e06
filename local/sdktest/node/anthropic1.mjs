// @anthropic-ai/sdk 1.x: apiKey and authToken both go out as Authorization: Bearer.
import { run } from './lib.mjs';
import Anthropic from '@anthropic-ai/sdk';
import { anthropicFlow } from './anthropic-flow.mjs';

run(() => anthropicFlow(Anthropic, 'claude-sonnet-4-5'));

// @anthropic-ai/sdk 1.x through the Anthropic adapter route.
import { run } from './lib.mjs';
import Anthropic from '@anthropic-ai/sdk';
import { adapterFlow } from './adapter-flow.mjs';

run(() => adapterFlow(Anthropic));

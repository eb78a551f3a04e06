// @anthropic-ai/sdk 0.x (package alias anthropic-sdk-0) through the Anthropic adapter route.
import { run } from './lib.mjs';
import Anthropic from 'anthropic-sdk-0';
import { adapterFlow } from './adapter-flow.mjs';

run(() => adapterFlow(Anthropic));

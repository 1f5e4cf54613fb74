#!/usr/bin/env node
// Launcher: the CLI is TypeScript, loaded through tsx's ESM loader (tsx is a runtime dependency).
import { register } from 'tsx/esm/api';

register();
await import('../src/signaling/cli.ts');

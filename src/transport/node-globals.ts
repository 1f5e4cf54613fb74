/**
 * simple-peer 9 and its stream library expect Node's `global`, `process` and `Buffer`. This
 * module is the one place that provides them, and it must be imported before simple-peer
 * (ES modules evaluate their imports in order). `global` itself is mapped to globalThis by
 * vite.config.ts's `define`, because code reads it as a bare identifier.
 */
import { Buffer } from 'buffer';
import process from 'process';

const scope = globalThis as unknown as { Buffer?: typeof Buffer; process?: typeof process; global?: typeof globalThis };
scope.global ??= globalThis;
scope.Buffer ??= Buffer;
scope.process ??= process;

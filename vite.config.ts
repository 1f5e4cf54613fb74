import { resolve } from 'node:path';
import { defineConfig } from 'vite';
import type { Plugin } from 'vite';
import { tabkaSignaling } from './src/signaling/vite-plugin';

const root = import.meta.dirname;

/** The demo is the app at /demo/; a bare visit to the server lands there. */
function demoAtRoot(): Plugin {
  return {
    name: 'tabka-demo-at-root',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        if (req.url === '/' || req.url === '/index.html') {
          res.statusCode = 302;
          res.setHeader('Location', '/demo/');
          res.end();
          return;
        }
        next();
      });
    },
  };
}

export default defineConfig({
  root,
  plugins: [demoAtRoot(), tabkaSignaling()],
  resolve: {
    alias: { tabka: resolve(root, 'src/index.ts') },
  },
  server: {
    host: '127.0.0.1',
    port: Number(process.env.PORT ?? 5173),
  },
  // Top-level await (the CRC-32C wasm init) needs ES2022 in both the app and its workers.
  build: {
    target: 'es2022',
    outDir: 'dist',
    rolldownOptions: { input: { demo: resolve(root, 'demo/index.html'), tour: resolve(root, 'demo/tour.html') } },
  },
  // simple-peer 9 reads Node's `global` as a bare identifier; see src/transport/node-globals.ts.
  define: { global: 'globalThis' },
  worker: { format: 'es' },
  // Pre-bundled at start: discovering them later (first seen inside a worker) makes Vite
  // re-optimize and reload pages mid-test.
  optimizeDeps: {
    entries: ['demo/**/*.html', 'test/**/*.html', 'workers/*.ts'],
    include: ['comlink', 'idb', 'hash-wasm', 'chai', 'simple-peer', 'buffer', 'process', 'events'],
  },
});

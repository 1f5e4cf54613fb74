import type { Plugin } from 'vite';
import { DEV_SIGNALING_SECRET, SIGNALING_PATH } from './dev-defaults';
import { createSignalingServer } from './signaling-server';
import type { AttachOptions, UpgradeSource } from './signaling-server';

/** The part of Vite's dev and preview servers the plugin wraps. */
interface HostServer {
  close(): Promise<void>;
}

export type TabkaSignalingPluginOptions = Omit<AttachOptions, 'server' | 'port' | 'host'>;

/**
 * Serves signaling from the Vite dev and preview servers at /tabka/signal, so the demo needs
 * no second process. Vite's own HMR websocket is untouched: other upgrade paths pass by.
 *
 * The secret is `options.secret`, else env TABKA_SECRET, else DEV_SIGNALING_SECRET, which is
 * public and only fit for a demo on your own machine.
 */
export function tabkaSignaling(options: TabkaSignalingPluginOptions = {}): Plugin {
  const fromEnv = process.env.TABKA_SECRET;
  const secret = options.secret ?? (fromEnv || DEV_SIGNALING_SECRET);
  const path = options.path ?? SIGNALING_PATH;

  async function attach(server: HostServer, httpServer: UpgradeSource, warn: (text: string) => void): Promise<void> {
    const signaling = await createSignalingServer({ ...options, secret, path, server: httpServer });
    // Vite's close() destroys every socket at once; closing ours first lets tabs see 1001
    // (server going away) instead of an abnormal 1006.
    const closeVite = server.close.bind(server);
    server.close = async () => {
      await signaling.close();
      await closeVite();
    };
    if (secret === DEV_SIGNALING_SECRET && !options.secretFor) {
      warn(`tabka signaling at ${path} uses the public dev secret; set TABKA_SECRET for anything but a local demo`);
    }
  }

  return {
    name: 'tabka-signaling',
    async configureServer(server) {
      // Middleware mode has no server of ours to attach to; the host app must serve signaling.
      if (server.httpServer) await attach(server, server.httpServer, (text) => server.config.logger.warn(text));
    },
    async configurePreviewServer(server) {
      await attach(server, server.httpServer, (text) => server.config.logger.warn(text));
    },
  };
}

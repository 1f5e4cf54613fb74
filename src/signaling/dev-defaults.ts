/**
 * Defaults for the local demo. Browser-safe: the demo page imports these too.
 *
 * DEV_SIGNALING_SECRET is public (it is in this file), so it keeps nobody out. It exists so
 * that `npm start` works without setup on a developer's own machine. Anything reachable by
 * others must set TABKA_SECRET.
 */
export const DEV_SIGNALING_SECRET = 'tabka-local-demo-secret-not-for-real-use';

/** Where the Vite plugin serves signaling on the dev server. */
export const SIGNALING_PATH = '/tabka/signal';

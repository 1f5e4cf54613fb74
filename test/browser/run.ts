// `npm run test:browser`: Playwright inside a private network namespace with only loopback
// (DESIGN.md), so every WebRTC packet and every request stays inside the test.
import { npxInLoopbackNamespace } from '../loopback-namespace';

process.exitCode = npxInLoopbackNamespace(['playwright', 'test', ...process.argv.slice(2)], 'the browser tests');

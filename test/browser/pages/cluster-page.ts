// A tab that joins a tabka cluster the way an app does (Tabka.join), for cluster tests.
import { DEV_SIGNALING_SECRET, Tabka } from '../../../src/index';

const params = new URLSearchParams(location.search);
const via = (params.get('via') ?? 'broadcast').split(',');
try {
  const tabka = await Tabka.join({
    cluster: params.get('cluster') ?? 'cluster',
    secret: params.get('secret') ?? DEV_SIGNALING_SECRET,
    signaling: params.get('signalingUrl') ?? (via.includes('server') ? 'auto' : false),
    broadcast: via.includes('broadcast'),
  });
  Object.assign(window, { tabka });
  document.body.dataset.ready = 'true';
} catch (error) {
  document.body.dataset.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Faults on purpose: leave cleanly (consumers commit and leave their groups, the broker says
 * goodbye, the others move its leaderships at once), crash (the broker stops dead: the others
 * hear only silence and act after the session timeout), or reload (the tab comes back as the
 * same broker, on the same logs, from its slot).
 */
import type { Tabka } from 'tabka';
import { describeError, element } from './dom';
import type { EventLog } from './event-log';

export type Ending = 'left' | 'crashed';

export function wireFaults(tabka: Tabka, log: EventLog, onEnd: (ending: Ending) => void): void {
  const leave = element<HTMLButtonElement>('leave');
  const crash = element<HTMLButtonElement>('crash');
  const status = element('status');
  leave.addEventListener('click', () => {
    leave.disabled = crash.disabled = true;
    status.textContent = 'leaving the cluster…';
    log.add(Date.now(), 'fault', 'this broker is leaving the cluster cleanly');
    // The dashboard stops asking first: a broker that is closing answers nothing.
    onEnd('left');
    tabka
      .leave()
      .then(() => {
        status.textContent = 'left the cluster';
        log.add(Date.now(), 'fault', 'this broker left the cluster: reload to join again');
      })
      .catch((error: unknown) => {
        status.textContent = `leaving failed: ${describeError(error)}`;
      });
  });
  crash.addEventListener('click', () => {
    leave.disabled = crash.disabled = true;
    onEnd('crashed');
    tabka.crash();
    status.textContent = 'crashed';
    log.add(Date.now(), 'fault', 'this broker crashed: no goodbye, its connections dropped with it, so the others suspect it at once and move its leaderships. Reload to restart it on its logs.');
  });
  element<HTMLButtonElement>('reload').addEventListener('click', () => location.reload());
}

import { AgentLink } from './agent-link.js';
import { AgentView } from './agent-view.js';
import type { RunConfig } from '../engine/run-config.js';
import type { TargetStats } from '../recording/target-stats.js';

export interface OpenAgentLinks {
  /** asks every agent to close its current interval; marks which answered */
  flushAll(timeoutMs: number): Promise<void>;
  closeAll(): Promise<void>;
}

/** Subscribes to the agent stream of every target that has --agent-ws. */
export function openAgentLinks(config: RunConfig, stats: TargetStats[], log: (line: string) => void): OpenAgentLinks {
  const links: { link: AgentLink; view: AgentView }[] = [];
  for (const target of stats) {
    const url = config.agentWs.get(target.target.name);
    if (url === undefined) continue;
    const view = new AgentView(url);
    target.attachAgent(view);
    let wasConnected = false;
    let lastLogged: string | null = null;
    const link = new AgentLink({
      url,
      token: config.agentToken,
      session: target.session,
      onInterval: (message) => view.addInterval(message),
      onHello: (hello) => { view.hello = hello; },
      onEvent: (event) => {
        if (event.kind === 'connected') {
          if (wasConnected) view.reconnects++;
          wasConnected = true;
        } else if (event.kind === 'dropped') {
          view.droppedByAgent++;
        } else if (event.kind === 'restarted') {
          view.restarts++;
          log(`warning: agent stream ${url}: ${event.detail}`);
        } else if (event.kind === 'disconnected' && view.hello === null) {
          // Said during the run, once per reason: the breakdown asked for is missing until it joins.
          view.connectFailure = event.detail ?? 'closed';
          if (view.connectFailure !== lastLogged) {
            log(`warning: agent stream ${url}: ${view.connectFailure}; the agent breakdown is unknown until it connects`);
            lastLogged = view.connectFailure;
          }
        } else if (event.kind === 'disconnected' && event.detail?.startsWith('401')) {
          log(`warning: agent stream ${url}: ${event.detail}`);
        } else if (event.kind === 'hello' && lastLogged !== null) {
          log(`agent stream ${url}: connected`);
          lastLogged = null;
        }
      },
    });
    link.start();
    links.push({ link, view });
    target.sendToAgent = (seq, rttNs) => link.sendBreach(seq, rttNs);
  }
  return {
    async flushAll(timeoutMs) {
      await Promise.all(links.map(async ({ link, view }) => {
        view.flushed = await link.flush(timeoutMs);
        // a stream never joined was said to be unknown already: no second, vaguer warning
        if (!view.flushed && view.hello !== null) log(`warning: agent stream ${view.url}: no answer to the final flush; agent figures may be incomplete`);
      }));
    },
    async closeAll() {
      await Promise.all(links.map(({ link }) => link.close()));
    },
  };
}

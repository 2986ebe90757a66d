import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import type { AlertEvent } from './alerts.js';

export interface AlertActionsOptions {
  /** JSON lines file, one event per line, appended synchronously (survives a crash) */
  eventsFile: string | null;
  /** shell command run per alert with the details in RTPROBE_ALERT_* variables */
  onAlert: string | null;
  log: (line: string) => void;
}

const ON_ALERT_TIMEOUT_MS = 30_000;

/**
 * What happens when an alert fires: a log line, a JSON event, and the operator's command.
 * One command at a time: alerts that fire while it still runs are counted, not queued, so a
 * storm of alerts cannot fork a storm of processes.
 */
export class AlertActions {
  fired = 0;
  /** alerts fired per kind, every kind present (Prometheus rtprobe_alerts_total{kind}) */
  readonly firedByKind: Record<AlertEvent['kind'], number> = { 'max-rtt': 0, loss: 0 };
  commandsRun = 0;
  commandsSkipped = 0;
  commandsFailed = 0;
  eventWriteErrors = 0;
  private running = false;

  constructor(private readonly options: AlertActionsOptions) {}

  fire(event: AlertEvent): void {
    this.fired++;
    this.firedByKind[event.kind]++;
    this.options.log(`ALERT ${event.message}`);
    if (this.options.eventsFile) {
      try {
        appendFileSync(this.options.eventsFile, `${JSON.stringify(event)}\n`);
      } catch (error) {
        if (this.eventWriteErrors++ === 0) this.options.log(`warning: --events ${this.options.eventsFile}: ${(error as Error).message}`);
      }
    }
    if (this.options.onAlert) this.runCommand(this.options.onAlert, event);
  }

  private runCommand(command: string, event: AlertEvent): void {
    if (this.running) {
      this.commandsSkipped++;
      return;
    }
    this.running = true;
    this.commandsRun++;
    const child = spawn('/bin/sh', ['-c', command], {
      stdio: 'ignore',
      env: {
        ...process.env,
        RTPROBE_ALERT_KIND: event.kind,
        RTPROBE_ALERT_TARGET: event.target,
        RTPROBE_ALERT_VALUE: String(event.value),
        RTPROBE_ALERT_THRESHOLD: String(event.threshold),
        RTPROBE_ALERT_START: event.interval_start,
        RTPROBE_ALERT_END: event.interval_end,
        RTPROBE_ALERT_MESSAGE: event.message,
      },
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), ON_ALERT_TIMEOUT_MS);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      if (!ok) this.commandsFailed++;
      this.running = false;
    };
    child.on('error', () => done(false));
    child.on('exit', (code) => done(code === 0));
  }
}

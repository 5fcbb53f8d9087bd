/** The orchestrator's end of the load client: numbered commands as JSON lines, answers matched by number. */
import { createInterface } from 'node:readline';
import { PendingCalls, type Proc } from './proc.js';
import type { LoadCommand } from './shared.js';

/** A load-client command without its correlation number (each member of the union on its own). */
type WithoutRe<C> = C extends { re: number } ? Omit<C, 're'> : never;

export class LoadClient {
  private readonly pending = new PendingCalls();
  constructor(readonly proc: Proc) {
    createInterface({ input: proc.child.stdout! }).on('line', (line) => {
      let msg: { re?: number; ok?: boolean; error?: string };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return;
      }
      if (msg.re === undefined) return;
      this.pending.settle(msg.re, msg.ok ? { value: msg } : { error: new Error(`load client: ${msg.error}`) });
    });
    void proc.exited.then(({ code, signal }) =>
      this.pending.failAll(new Error(`load client exited (${code ?? signal}): ${proc.output().slice(-1500)}`)),
    );
  }

  call<T>(cmd: WithoutRe<LoadCommand>, timeoutMs: number): Promise<T> {
    return this.pending.call<T>(
      (re) => this.proc.child.stdin!.write(`${JSON.stringify({ ...cmd, re })}\n`),
      timeoutMs,
      `load client: no answer to ${cmd.cmd} within ${timeoutMs} ms`,
    );
  }
}

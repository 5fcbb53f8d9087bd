/**
 * A bounded line of expensive work (password hashes), shared fairly between keys (client
 * addresses): the next free slot goes to the waiting key served least since it came, so one
 * address's flood waits behind its own jobs, not in front of everyone else's.
 * p-limit and p-queue serve first come, first served, which is what let 100 registrations from
 * one address push another user's login back by seconds.
 */
export interface FairLine {
  /** Runs `work` when a slot is free and it is `key`'s turn; rejects at once with `refused()` when the line is full. */
  run<T>(key: string, work: () => Promise<T>): Promise<T>;
  /** Jobs running. */
  readonly active: number;
  /** Jobs waiting for a slot. */
  readonly queued: number;
}

export interface FairLineOptions {
  /** Jobs running at once. */
  readonly concurrency: number;
  /** Jobs that may wait in all; past that, run() is refused. */
  readonly maxQueued: number;
  /** Jobs one key may have running or waiting; past that, run() is refused for that key only. */
  readonly maxPerKey: number;
  /** The error a refused job rejects with. */
  readonly refused: () => Error;
}

export function createFairLine({ concurrency, maxQueued, maxPerKey, refused }: FairLineOptions): FairLine {
  let active = 0;
  let queued = 0;
  /** Jobs of each key, running or waiting; a key with none is forgotten. */
  const perKey = new Map<string, number>();
  /** Jobs started for each key since it last had none: the next turn goes to the key served least. */
  const served = new Map<string, number>();
  /** Waiting jobs by key, in the order the keys came (ties go to the earliest). */
  const waiting = new Map<string, (() => void)[]>();

  const startWaiting = () => {
    while (active < concurrency && waiting.size > 0) {
      let next: string | undefined;
      for (const key of waiting.keys()) if (next === undefined || served.get(key)! < served.get(next)!) next = key;
      const jobs = waiting.get(next!)!;
      const start = jobs.shift()!;
      if (jobs.length === 0) waiting.delete(next!);
      queued--;
      start();
    }
  };

  return {
    run<T>(key: string, work: () => Promise<T>): Promise<T> {
      const mine = perKey.get(key) ?? 0;
      if (mine >= maxPerKey || (active >= concurrency && queued >= maxQueued)) return Promise.reject(refused());
      perKey.set(key, mine + 1);
      if (mine === 0) served.set(key, 0);
      return new Promise<T>((resolve, reject) => {
        const start = () => {
          active++;
          served.set(key, served.get(key)! + 1);
          (async () => work())()
            .then(resolve, reject)
            .finally(() => {
              active--;
              const left = perKey.get(key)! - 1;
              if (left === 0) {
                perKey.delete(key);
                served.delete(key);
              } else perKey.set(key, left);
              startWaiting();
            });
        };
        if (active < concurrency) return start();
        let jobs = waiting.get(key);
        if (!jobs) waiting.set(key, (jobs = []));
        jobs.push(start);
        queued++;
      });
    },
    get active() {
      return active;
    },
    get queued() {
      return queued;
    },
  };
}

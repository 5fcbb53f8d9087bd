import { ensureRedisUrl } from './redis.js';

/** Finds (or starts) the Redis the suites use, once for the run, and hands its URL to the workers. */
export default async function setup({ provide }: { provide: (key: 'redisUrl', value: string) => void }) {
  const { url, stop } = await ensureRedisUrl();
  provide('redisUrl', url);
  return stop;
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

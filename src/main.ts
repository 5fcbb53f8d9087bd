import { constants } from 'node:os';
import { type Config, ConfigError, loadConfig } from './config/index.js';
import { createChatServer } from './server/app.js';

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`Invalid configuration: ${err.message}`);
    process.exit(1);
  }
  throw err;
}

let server: Awaited<ReturnType<typeof createChatServer>>;
try {
  server = await createChatServer(config);
} catch (err) {
  // Redis not answering at start-up is the usual cause: one clear line, not a stack
  console.error(`Could not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
const { logger } = server;
// A rejection nobody handled (a library's, during a Redis reconnect) is logged, not fatal: the
// process keeps serving and /ready tells the load balancer whether it can.
process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
if (config.jwtSecretGenerated) {
  logger.warn('JWT_SECRET is unset: using a random key, so tokens die with this process (set it in production)');
}

// SIGTERM (docker stop, Kubernetes, systemd) or SIGINT (Ctrl-C): drain and exit 0 within
// SHUTDOWN_TIMEOUT. A second signal exits at once, with the shell's code for that signal.
let started: Promise<unknown> = Promise.resolve();
let shuttingDown = false;
const shutdown = (signal: NodeJS.Signals) => {
  if (shuttingDown) {
    logger.warn({ signal }, 'second signal: exiting now, without draining');
    process.exit(128 + (constants.signals[signal] ?? 0));
  }
  shuttingDown = true;
  logger.info({ signal, timeoutSeconds: config.shutdownTimeout }, 'shutting down');
  // stop() keeps to the timeout itself; this is the backstop should something hang anyway
  const force = setTimeout(() => {
    logger.error({ timeoutSeconds: config.shutdownTimeout }, 'shutdown did not finish in time: exiting');
    process.exit(1);
  }, config.shutdownTimeout * 1000 + 1000);
  force.unref();
  // a signal during start-up: let the listener come up first, so that stop() closes it
  void started
    .catch(() => {})
    .then(() => server.stop())
    .then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

try {
  await (started = server.start());
} catch (err) {
  // a port taken or not allowed is the usual cause: one clear line, like a bad setting
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    const why = code === 'EADDRINUSE' ? 'is already in use' : code === 'EACCES' ? 'is not allowed for this user' : 'is not an address of this machine';
    console.error(`Could not start: ${config.host}:${config.port} ${why} (set PORT or HOST to another)`);
    process.exit(1);
  }
  logger.fatal({ err }, 'could not start');
  process.exit(1);
}

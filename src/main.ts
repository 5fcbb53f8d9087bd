import { ConfigError, loadConfig } from './config/index.js';
import { createChatServer } from './server/app.js';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`Invalid configuration: ${err.message}`);
    process.exit(1);
  }
  throw err;
}

const server = await createChatServer(config);
if (config.jwtSecretGenerated) {
  server.logger.warn('JWT_SECRET is unset: using a random key, so tokens die with this process (set it in production)');
}

let signals = 0;
const shutdown = (signal: NodeJS.Signals) => {
  // a second signal exits at once
  if (++signals > 1) process.exit(1);
  server.logger.info({ signal }, 'shutting down');
  const force = setTimeout(() => process.exit(1), config.shutdownTimeout * 1000 + 2000);
  force.unref();
  server.stop().then(
    () => process.exit(0),
    (err) => {
      server.logger.error({ err }, 'shutdown failed');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

try {
  await server.start();
} catch (err) {
  server.logger.fatal({ err }, 'could not start');
  process.exit(1);
}

// The web chat page: npm run web:build writes web/dist/, which the server serves at /.
// npm run web:dev serves it with hot reload on :5173 and proxies /graphql (HTTP and WebSocket) to
// the server on :4000 (CHAT_SERVER overrides).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const server = process.env.CHAT_SERVER ?? 'http://localhost:4000';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // relative asset URLs: the page also works when served under a path prefix
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: true },
  server: { proxy: { '/graphql': { target: server, ws: true, changeOrigin: true } } },
});

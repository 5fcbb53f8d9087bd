import type { Plugin } from 'graphql-yoga';

/**
 * Which browser pages may use the API, one rule for HTTP (CORS and plain requests) and for the
 * WebSocket handshake. Browsers always send Origin on cross-origin requests, on POSTs and on
 * WebSocket handshakes; other clients usually send none and are not concerned.
 *
 * The Host header is not trusted: with DNS rebinding, a page of evil.example reaches this server
 * under its own name, and sends Origin and Host that agree. So a page is allowed when its origin
 * is listed in ALLOWED_ORIGINS (`*`: any), or, for development, when both its origin and the Host
 * it reached are loopback names (localhost, 127.0.0.0/8, [::1]): GraphiQL and the web page on
 * localhost, the Vite dev server's proxy, nginx on localhost:8080. A deployment that serves the
 * page under a real name lists that origin.
 */
export interface OriginPolicy {
  /** True when a request carrying this Origin (null: none) and Host may be served. */
  allows(origin: string | null | undefined, host: string | null | undefined): boolean;
}

export function createOriginPolicy(allowed: readonly string[]): OriginPolicy {
  const any = allowed.includes('*');
  const listed = new Set(allowed.map((o) => o.toLowerCase()));
  return {
    allows(origin, host) {
      if (origin === null || origin === undefined || any) return true;
      const o = origin.toLowerCase();
      if (listed.has(o)) return true;
      return isLoopback(hostnameOf(o)) && isLoopback(hostnameOf(host ? `http://${host.toLowerCase()}` : null));
    },
  };
}

function hostnameOf(url: string | null): string | null {
  if (!url) return null;
  try {
    return new URL(url).hostname;
  } catch {
    return null;
  }
}

function isLoopback(hostname: string | null): boolean {
  if (!hostname) return false;
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/**
 * CORS for GraphQL over HTTP and SSE: an allowed origin gets its own origin back (never
 * credentials: the API authenticates with a bearer token, not cookies), any other gets no CORS
 * headers (the browser keeps the answer from the page) and a request carrying a disallowed Origin
 * is refused with 403 before anything runs. Replaces yoga's default CORS, which reflects any
 * Origin with Access-Control-Allow-Credentials.
 */
export function useOriginPolicy(policy: OriginPolicy): Plugin {
  return {
    onRequest({ request, fetchAPI, endResponse }) {
      const origin = request.headers.get('origin');
      if (!policy.allows(origin, request.headers.get('host'))) {
        const error = { message: `Origin ${origin} is not allowed: list it in ALLOWED_ORIGINS.`, extensions: { code: 'FORBIDDEN' } };
        endResponse(new fetchAPI.Response(JSON.stringify({ errors: [error] }), { status: 403, headers: { 'content-type': 'application/json; charset=utf-8' } }));
        return;
      }
      if (request.method === 'OPTIONS') endResponse(new fetchAPI.Response(null, { status: 204, headers: { 'content-length': '0' } }));
    },
    onResponse({ request, response }) {
      const origin = request.headers.get('origin');
      if (origin === null) return;
      response.headers.append('vary', 'Origin');
      if (!policy.allows(origin, request.headers.get('host'))) return;
      response.headers.set('access-control-allow-origin', origin);
      response.headers.set('access-control-allow-methods', 'GET, POST, OPTIONS');
      const asked = request.headers.get('access-control-request-headers');
      if (asked) {
        response.headers.set('access-control-allow-headers', asked);
        response.headers.append('vary', 'Access-Control-Request-Headers');
      }
      response.headers.set('access-control-max-age', '600');
    },
  };
}

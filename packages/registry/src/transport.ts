/** What the client asks of a transport: `typeof fetch` satisfies it (Node's, Bun's, Deno's). */
export type Transport = (
  url: string,
  init: { method: string; headers: Headers; redirect: 'manual'; signal: AbortSignal },
) => Promise<Response>;

/**
 * A fetch that accepts any TLS certificate, for `tlsVerify: false` against a self-signed HTTPS
 * registry. Node's global fetch takes no TLS options, so this is undici's own fetch (the library
 * Node's fetch is built from) with an Agent that does not verify; it is loaded only when asked for.
 * `close` ends its pooled connections.
 */
export async function insecureTransport(): Promise<{ transport: Transport; close: () => Promise<void> }> {
  const { Agent, fetch } = await import('undici');
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
  // Node's Headers and undici's are the same class at run time, but their types differ: pass entries.
  const transport = ((url: string, init: Parameters<Transport>[1]) =>
    fetch(url, { method: init.method, headers: [...init.headers], redirect: init.redirect, signal: init.signal, dispatcher })) as unknown as Transport;
  return { transport, close: () => dispatcher.close() };
}

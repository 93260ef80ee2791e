import { connect } from 'node:net';

/**
 * Sends bytes exactly as given over a fresh TCP connection and returns what came back before
 * the server closed it or `timeoutMs` passed. For requests fetch refuses to send (bogus
 * Content-Length, truncated bodies, odd paths).
 */
export function rawRequest(
  url: string,
  request: string | Buffer,
  timeoutMs = 5000,
  options: { halfClose?: boolean } = {},
): Promise<{ status: number; head: string; raw: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let data = '';
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, head: data.split('\r\n\r\n')[0] ?? '', raw: data });
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', (d) => {
      data += d.toString('latin1');
      // One full response head plus a small body is all the callers look at.
      if (/\r\n\r\n/.test(data) && /content-length: (\d+)/i.test(data)) {
        const len = Number(/content-length: (\d+)/i.exec(data)?.[1]);
        if (data.length - data.indexOf('\r\n\r\n') - 4 >= len) finish();
      }
    });
    socket.on('end', finish);
    socket.on('error', (err) => (data ? finish() : reject(err)));
    socket.write(request);
    // A truncated body: tell the server nothing more is coming instead of waiting for a timeout.
    if (options.halfClose) socket.end();
  });
}

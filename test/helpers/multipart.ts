/** Splits a multipart/byteranges body into its parts (test helper; bodies are small). */
export function parseByteranges(body: Buffer, contentType: string): { range: string; data: Buffer }[] {
  const m = /boundary=([^;]+)/.exec(contentType);
  if (!m) throw new Error(`no boundary in ${contentType}`);
  const delimiter = Buffer.from(`--${m[1]}`);
  const parts: { range: string; data: Buffer }[] = [];
  let pos = body.indexOf(delimiter);
  while (pos >= 0) {
    const after = pos + delimiter.length;
    if (body.subarray(after, after + 2).toString() === '--') break;
    const headerEnd = body.indexOf('\r\n\r\n', after);
    const headers = body.subarray(after, headerEnd).toString();
    const next = body.indexOf(delimiter, headerEnd);
    const data = body.subarray(headerEnd + 4, next - 2); // minus the CRLF before the delimiter
    parts.push({ range: /Content-Range: (.*)/i.exec(headers)?.[1]?.trim() ?? '', data });
    pos = next;
  }
  return parts;
}

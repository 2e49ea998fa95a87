// A small multipart/form-data reader for the console's forms (text fields and one small file).

/** The fields of a form; a file field holds its content as text. */
export type FormFields = Record<string, string[]>;

/**
 * Reads a multipart/form-data body. Returns undefined when the body is not well-formed (no
 * boundary, or a part without headers). File contents are decoded as UTF-8.
 */
export function parseMultipart(body: Buffer, contentType: string): FormFields | undefined {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2];
  if (!boundary) return undefined;
  const delimiter = Buffer.from(`--${boundary}`);
  const fields: FormFields = {};
  let pos = body.indexOf(delimiter);
  if (pos < 0) return undefined;
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString() === '--') return fields; // closing delimiter
    if (body.subarray(pos, pos + 2).toString() === '\r\n') pos += 2;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd < 0) return undefined;
    const headers = body.subarray(pos, headerEnd).toString('utf8');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
    if (next < 0) return undefined;
    const name = /content-disposition:[^\r\n]*\bname="([^"]*)"/i.exec(headers)?.[1];
    if (name === undefined) return undefined;
    (fields[name] ??= []).push(body.subarray(headerEnd + 4, next).toString('utf8'));
    pos = next + 2;
  }
}

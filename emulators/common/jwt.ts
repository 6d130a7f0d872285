// The parts of a compact JWT (a client assertion), as the emulated token endpoints read it: the
// header and claims decoded, and what the signature covers. Undefined for anything that is not
// three dot-separated parts with JSON objects in the first two; each emulator answers that with
// its provider's own error. Verifying the signature is each provider's business (keys, algorithms).
export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  /** `header.claims` as sent: the bytes the signature is over. */
  signed: Buffer;
  signature: Buffer;
}

export function decodeJwt(jwt: string): DecodedJwt | undefined {
  const parts = jwt.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    return { header, claims, signed: Buffer.from(`${parts[0]}.${parts[1]}`), signature: Buffer.from(parts[2]!, 'base64url') };
  } catch {
    return undefined;
  }
}

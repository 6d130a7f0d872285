// Encryption of secrets entered in the UI. The key comes from IDSYNC_SECRET_KEY (base64, 32
// bytes) or a key file created beside the database with mode 0600 (in a 0700 directory). Values are AES-256-GCM,
// so a tampered or foreign value fails loudly instead of decrypting to garbage.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { ensurePrivateDir, narrowIfExists } from './private-files.ts';
import { join } from 'node:path';
import { IdsyncError } from '../core/errors.ts';

export interface SecretBox {
  seal(plain: string): string;
  open(sealed: string): string;
}

export function secretKey(dataDir: string | undefined): Buffer {
  const fromEnv = process.env.IDSYNC_SECRET_KEY;
  if (fromEnv) {
    const key = Buffer.from(fromEnv, 'base64');
    if (key.length !== 32) throw new IdsyncError('CONFIG', 'IDSYNC_SECRET_KEY must be 32 bytes, base64-encoded', { hint: 'create one with: openssl rand -base64 32' });
    return key;
  }
  if (!dataDir) return randomBytes(32); // in-memory store: secrets live as long as the process
  const file = join(dataDir, 'secret.key');
  if (!existsSync(file)) createKeyFile(dataDir, file);
  narrowIfExists(file);
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
}

function createKeyFile(dataDir: string, file: string): void {
  ensurePrivateDir(dataDir);
  const key = randomBytes(32);
  // Written aside and linked into place: two processes opening a new store at once must not each
  // use a key of their own, nor read a key file that is still empty.
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(draft, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  try {
    linkSync(draft, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    unlinkSync(draft);
  }
}

export function secretBox(key: Buffer): SecretBox {
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },
    open(sealed) {
      const raw = Buffer.from(sealed, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      try {
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      } catch {
        throw new IdsyncError('CONFIG', 'a stored secret cannot be decrypted with this key', {
          hint: 'the secret key changed (IDSYNC_SECRET_KEY or secret.key); enter the secret again',
        });
      }
    },
  };
}

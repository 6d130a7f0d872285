// Password hashing with scrypt (memory-hard, in node:crypto). The stored form carries its own
// parameters and salt, so they can be raised later without invalidating existing hashes.
// Strength is estimated with zxcvbn (dictionaries of common passwords, names and words,
// keyboard patterns, repeats, dates), not by length alone: "aaaaaaaaaaaa" is refused.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as english from '@zxcvbn-ts/language-en';

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));

const PARAMS = { N: 16384, r: 8, p: 1 };
const KEYLEN = 32;

export const MIN_PASSWORD_LENGTH = 10;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEYLEN, { ...PARAMS, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: 64 * 1024 * 1024 });
  return timingSafeEqual(actual, expected);
}

/** zxcvbn's 0-4: 3 is "safely unguessable" against an online attack and a slow hash. */
export const MIN_PASSWORD_SCORE = 3;

let estimator: ZxcvbnFactory | undefined;
const strength = () =>
  (estimator ??= new ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...english.dictionary },
    graphs: common.adjacencyGraphs,
    translations: english.translations,
    // The estimate's cost grows steeply with length (seconds for a few hundred characters, on
    // the event loop); the first 64 characters tell enough, and the l33t variants are capped.
    maxLength: 64,
    l33tMaxSubstitutions: 8,
  }));

/**
 * Why a password is refused, with what to do instead, or undefined when it is acceptable.
 * `context` (the user name, "idsync") makes passwords built from them weaker.
 */
export function passwordProblem(password: string, context: string[] = []): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `use at least ${MIN_PASSWORD_LENGTH} characters`;
  const { score, feedback } = strength().check(password, ['idsync', ...context]);
  if (score >= MIN_PASSWORD_SCORE) return undefined;
  const why = feedback.warning ? ` (${feedback.warning.replace(/\.$/, '')})` : '';
  const todo = feedback.suggestions.length ? feedback.suggestions.join(' ') : 'Add a few uncommon words.';
  return `this password is too easy to guess${why}. ${todo} A few unrelated words make a strong one.`;
}

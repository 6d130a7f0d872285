// The command line's option values: each parsed and checked by commander as it reads the
// arguments, so a wrong value is a usage error (exit 2) that names the option and what it
// accepts, before any store is opened or emulator started.
import { InvalidArgumentError, Option } from 'commander';
import { ITEM_OPERATIONS } from '../core/types.ts';

/** Exit code of a usage error (a wrong option, value or argument), as most commands use it. */
export const EXIT_USAGE = 2;

/** Parses a whole number in [min, max]; anything else names the range. */
export function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`Use a whole number from ${min} to ${max}.`);
    return n;
  };
}

/** A value that must not be empty (a blank --data-dir would mean the current directory). */
export function nonEmpty(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('It must not be empty.');
  return value;
}

export const limitOption = (description: string, fallback: number, max: number) =>
  new Option('-n, --limit <n>', `${description} (1 to ${max})`).argParser(wholeNumber(1, max)).default(fallback);

/** The description names the range (0 to 65535) and what 0 means. */
export const portOption = (description: string, fallback?: number) => {
  const o = new Option('--port <n>', description).argParser(wholeNumber(0, 65_535));
  return fallback === undefined ? o : o.default(fallback);
};

export const operationOption = () => new Option('--operation <op>', 'only items with this operation').choices(ITEM_OPERATIONS);

// zod fields for option records (flags arrive as strings: a number-looking string is read as a
// number), with messages that say what was expected.
import { z } from 'zod';

const fromString = (v: unknown) => (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v);
export const number = () => z.preprocess(fromString, z.number());
export const positive = () => z.preprocess(fromString, z.number().positive('expected a number > 0'));
export const nonNegative = () => z.preprocess(fromString, z.number().nonnegative('expected a number ≥ 0'));
export const int = () => z.preprocess(fromString, z.number().int('expected an integer'));
export const positiveInt = () => z.preprocess(fromString, z.number().int('expected an integer').positive('expected an integer ≥ 1'));
/** An integer in [min, max]; `message` says the range. */
export const intIn = (min: number, max: number, message: string) => z.preprocess(fromString, z.number().int('expected an integer').min(min, message).max(max, message));
export const nonNegativeInt = () => z.preprocess(fromString, z.number().int('expected an integer').nonnegative('expected an integer ≥ 0'));
export const path = () => z.string().min(1, 'expected a path');
export const flag = () => z.boolean();

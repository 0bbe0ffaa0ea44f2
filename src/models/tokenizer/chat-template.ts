// Chat templates are Jinja programs stored in tokenizer_config.json; @huggingface/jinja runs them
// as transformers' `apply_chat_template` does. A template comes with a downloaded model, so it is
// untrusted input: rendering is bounded in evaluation steps, in the length of range(), and in the
// text produced, so a template that loops a billion times or builds a gigabyte string stops with
// a LetheError instead of hanging or exhausting V8's heap.
import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { LetheError } from '../../engine/errors.ts';

// The package's declarations import "./runtime" without an extension, which NodeNext resolution
// does not follow: the parts used here, typed.
interface RuntimeValue {
  type: string;
  value: unknown;
}
interface JinjaEnvironment {
  set(name: string, value: unknown): RuntimeValue;
}
interface JinjaInterpreter {
  evaluate(statement: unknown, environment: unknown): RuntimeValue;
  run(program: unknown): RuntimeValue;
}
const InterpreterBase = Interpreter as unknown as new (env: JinjaEnvironment) => JinjaInterpreter;
const EnvironmentClass = Environment as unknown as new () => JinjaEnvironment;

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | (string & {});
  content: string;
}

/** Bounds on one rendering. */
export interface ChatTemplateLimits {
  /**
   * Expressions and statements evaluated (a loop iteration costs at least one), and the longest
   * range(). Default 100,000 (a conversation of a few turns takes hundreds; the interpreter runs
   * about 10⁵ steps a second).
   */
  maxSteps?: number;
  /**
   * Characters of the rendered text and of any string made while rendering. Default 8 Mi. Every
   * string value made is also counted, and their total may not exceed 16 times this (a loop that
   * emits a large string on every iteration stops as soon as the total passes it).
   */
  maxOutputChars?: number;
}

export const CHAT_TEMPLATE_MAX_STEPS = 100_000;
export const CHAT_TEMPLATE_MAX_OUTPUT_CHARS = 8 * 1024 * 1024;
/** The total of all strings made, as a multiple of maxOutputChars. */
const TOTAL_FACTOR = 16;

class TemplateLimitError extends Error {}

/** The interpreter, counting every evaluation and the length of every string it makes. */
class BoundedInterpreter extends InterpreterBase {
  private steps = 0;
  private produced = 0;

  constructor(env: JinjaEnvironment, private readonly maxSteps: number, private readonly maxOutputChars: number) {
    super(env);
  }

  override evaluate(statement: unknown, environment: unknown): RuntimeValue {
    if (++this.steps > this.maxSteps) throw new TemplateLimitError(`more than ${this.maxSteps} evaluation steps (maxSteps)`);
    const value = super.evaluate(statement, environment);
    if (value.type === 'StringValue') {
      const length = (value.value as string).length;
      if (length > this.maxOutputChars) throw new TemplateLimitError(`a string of ${length} characters, more than ${this.maxOutputChars} (maxOutputChars)`);
      this.produced += length;
      if (this.produced > TOTAL_FACTOR * this.maxOutputChars) {
        throw new TemplateLimitError(`more than ${TOTAL_FACTOR * this.maxOutputChars} characters made in all (${TOTAL_FACTOR} × maxOutputChars)`);
      }
    }
    return value;
  }
}

/** Jinja's range(), refusing more than `max` numbers before making them. */
function boundedRange(max: number) {
  return (start: number, stop?: number, step = 1): number[] => {
    if (stop === undefined) [start, stop] = [0, start];
    if (step === 0) throw new Error('range() step must not be zero');
    const count = Math.max(0, Math.ceil((stop - start) / step));
    if (!(count <= max)) throw new TemplateLimitError(`range() of ${count} numbers, more than ${max} (maxSteps)`);
    return Array.from({ length: count }, (_, i) => start + i * step);
  };
}

/** transformers' strftime_now: the current local time, with the directives chat templates use. */
function strftimeNow(format: string): string {
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  const month = (style: 'long' | 'short') => new Intl.DateTimeFormat('en-US', { month: style }).format(now);
  const parts: Record<string, () => string> = {
    '%Y': () => String(now.getFullYear()), '%m': () => pad(now.getMonth() + 1), '%d': () => pad(now.getDate()),
    '%b': () => month('short'), '%B': () => month('long'), '%H': () => pad(now.getHours()), '%M': () => pad(now.getMinutes()),
    '%S': () => pad(now.getSeconds()), '%%': () => '%',
  };
  return format.replace(/%[YmdbBHMS%]/g, (d) => parts[d]());
}

/**
 * Renders `messages` with `template`. `variables` holds the special-token strings
 * (bos_token, eos_token, ...) and add_generation_prompt, as transformers passes them. A template
 * that does not parse, raises, or exceeds `limits` is a LetheError naming `source`.
 *
 * A system message first, followed by a user message, on a template that rejects the system role
 * (Gemma and Gemma 2 raise "System role not supported"): the system text is folded into the
 * first user turn as `system + "\n\n" + user`, which is what Gemma 3's own template does with a
 * system message. This happens only when the template fails with the system message and renders
 * without it; otherwise the template's own error is reported.
 */
export function renderChatTemplate(
  template: string,
  messages: ChatMessage[],
  variables: Record<string, unknown>,
  source: string,
  limits: ChatTemplateLimits = {},
): string {
  try {
    return renderOnce(template, messages, variables, source, limits);
  } catch (err) {
    if (!(err instanceof TemplateRenderError) || messages[0]?.role !== 'system' || messages[1]?.role !== 'user') throw err;
    const folded = [{ ...messages[1], content: `${messages[0].content}\n\n${messages[1].content}` }, ...messages.slice(2)];
    try {
      return renderOnce(template, folded, variables, source, limits);
    } catch {
      throw err; // not a system-role refusal: the template's own error
    }
  }
}

/** The template raised (raise_exception or a runtime error), as opposed to a parse error or a limit. */
class TemplateRenderError extends LetheError {}

function renderOnce(template: string, messages: ChatMessage[], variables: Record<string, unknown>, source: string, limits: ChatTemplateLimits): string {
  const maxSteps = limits.maxSteps ?? CHAT_TEMPLATE_MAX_STEPS;
  const maxOutputChars = limits.maxOutputChars ?? CHAT_TEMPLATE_MAX_OUTPUT_CHARS;
  let parsed: Template;
  try {
    parsed = new Template(template);
  } catch (err) {
    throw new LetheError(`${source}: the chat_template does not parse: ${(err as Error).message}`);
  }
  // What Template.render does, with the bounded interpreter and range().
  const env = new EnvironmentClass();
  const globals: Record<string, unknown> = {
    false: false, true: true, none: null, False: false, True: true, None: null,
    raise_exception: (message: unknown) => {
      throw new Error(String(message));
    },
    range: boundedRange(maxSteps),
    strftime_now: strftimeNow,
  };
  for (const [name, value] of Object.entries({ ...globals, ...variables, messages })) env.set(name, value);
  let rendered: string;
  try {
    rendered = new BoundedInterpreter(env, maxSteps, maxOutputChars).run(parsed.parsed).value as string;
  } catch (err) {
    if (err instanceof TemplateLimitError) throw new LetheError(`${source}: the chat_template was stopped: ${err.message}`);
    throw new TemplateRenderError(`${source}: the chat_template failed on these messages: ${(err as Error).message}`);
  }
  if (rendered.length > maxOutputChars) {
    throw new LetheError(`${source}: the chat_template was stopped: its text has ${rendered.length} characters, more than ${maxOutputChars} (maxOutputChars)`);
  }
  return rendered;
}

/**
 * Multiple-choice prompts exactly as lm-evaluation-harness builds them (lm_eval/api/task.py
 * fewshot_context and construct_requests, lm_eval/api/samplers.py get_context, the task YAMLs
 * mmlu/default/_default_template_yaml, mmlu/continuation/_continuation_template_yaml, wmdp/*):
 *
 * style 'default' (the harness's `mmlu` and `wmdp_*` tasks: the options are letters):
 *   description  "The following are multiple choice questions (with answers) about SUBJECT.\n\n"
 *   doc_to_text  question.strip() + "\nA. " + c0 + "\nB. " + c1 + ... + "\nAnswer:"
 *   choices      "A", "B", ...   (the target of a solved example is the right letter)
 * style 'continuation' (the harness's `mmlu_continuation`: the options' texts are scored):
 *   description  "The following are questions (with answers) about SUBJECT.\n\n"
 *   doc_to_text  "Question: " + question.strip() + "\nAnswer:"
 *   choices      the option texts
 *
 * Plain prompt: context = [system instruction + "\n\n"] + description + Σ_shots (doc_to_text(ex)
 * + " " + target(ex) + "\n\n") + doc_to_text(doc); continuation_k = " " + choice_k (the
 * target delimiter " " makes the leading space). Shots: the first k items of the few-shot split
 * (the harness's `first_n` sampler over MMLU's dev split), of the item's own subject when the
 * few-shot items carry subjects; the item itself is never its own shot.
 * Chat (`apply_chat_template`): messages [system: description] + [user: shots + doc_to_text]
 * (or, fewshot as multiturn, user/assistant turns per shot, then user: doc_to_text), rendered
 * with the generation prompt; the target delimiter becomes "" so continuation_k = choice_k.
 * Finally, as the harness's _encode_pair does, whitespace ending the context is moved to the
 * front of every continuation.
 */
import { LetheError } from '../../engine/errors.ts';
import { choiceLetter, type McItem } from '../../data/multiple-choice.ts';
import type { ChatMessage, Tokenizer } from '../../models/tokenizer/tokenizer.ts';

/** Named after the harness's MMLU task variants: letters ('default') or option texts ('continuation'). */
export type McPromptStyle = 'default' | 'continuation';

export interface McChatOptions {
  /** Renders the messages with its chat template (a LetheError when it has none). */
  tokenizer: Pick<Tokenizer, 'applyChatTemplate'>;
  /** The harness's --fewshot_as_multiturn. Default false (all shots in the one user turn). */
  fewshotAsMultiturn?: boolean;
}

export interface McPromptOptions {
  /** Default 'default' (MMLU / WMDP's letters). */
  style?: McPromptStyle;
  /** k, the number of solved examples before the question. Default 0. */
  numFewshot?: number;
  /** Where the shots come from (MMLU's dev split); needed when numFewshot > 0. */
  fewshotItems?: readonly McItem[];
  /**
   * The task description. Default: the harness's sentence about the item's subject, or none
   * when the item has no subject; a string is used verbatim for every item; null drops it.
   */
  description?: string | null;
  /** The harness's --system_instruction, put before the description. */
  systemInstruction?: string;
  /** Build chat prompts with this tokenizer's template (the harness's --apply_chat_template). */
  chat?: McChatOptions;
}

/** One item's loglikelihood requests: the shared context and one continuation per option. */
export interface McRequest {
  item: McItem;
  context: string;
  continuations: string[];
  /** The option strings whose lengths normalise acc_norm (letters or texts; no delimiter). */
  choices: string[];
}

const TARGET_DELIMITER = ' ';
const FEWSHOT_DELIMITER = '\n\n';

/** The harness's task description for a subject ("high_school_biology" reads "high school biology"). */
export function mcDescription(subject: string, style: McPromptStyle = 'default'): string {
  const words = subject.split('_').join(' ');
  return style === 'default'
    ? `The following are multiple choice questions (with answers) about ${words}.\n\n`
    : `The following are questions (with answers) about ${words}.\n\n`;
}

/** doc_to_text: the question as the model sees it, up to and including "Answer:". */
export function mcDocToText(item: McItem, style: McPromptStyle = 'default'): string {
  // Python's str.strip() removes whitespace at both ends, as String.prototype.trim does.
  if (style === 'continuation') return `Question: ${item.question.trim()}\nAnswer:`;
  const lines = item.choices.map((c, k) => `\n${choiceLetter(k)}. ${c}`).join('');
  return `${item.question.trim()}${lines}\nAnswer:`;
}

/** doc_to_choice: what is scored as each option's continuation (before the delimiter). */
export function mcDocChoices(item: McItem, style: McPromptStyle = 'default'): string[] {
  return style === 'continuation' ? [...item.choices] : item.choices.map((_, k) => choiceLetter(k));
}

const sameItem = (a: McItem, b: McItem) => a.question === b.question && a.choices.length === b.choices.length && a.choices.every((c, k) => c === b.choices[k]);

function shotsFor(item: McItem, k: number, pool: readonly McItem[] | undefined): McItem[] {
  if (k === 0) return [];
  if (!pool || pool.length === 0) throw new LetheError(`${item.where}: ${k}-shot prompts need few-shot items (a dev split)`);
  const bySubject = item.subject !== undefined && pool.some((p) => p.subject !== undefined);
  const candidates = pool.filter((p) => (!bySubject || p.subject === item.subject) && !sameItem(p, item));
  if (candidates.length < k) {
    const scope = bySubject ? ` with subject "${item.subject}"` : '';
    throw new LetheError(`${item.where}: ${k}-shot prompt asked, but the few-shot items hold only ${candidates.length}${scope}`);
  }
  return candidates.slice(0, k);
}

/** The (context, continuations) requests of every item, in order. */
export function buildMcRequests(items: readonly McItem[], options: McPromptOptions = {}): McRequest[] {
  const style = options.style ?? 'default';
  if (style !== 'default' && style !== 'continuation') throw new LetheError(`unknown multiple-choice prompt style "${String(style)}" (known: default, continuation)`);
  const k = options.numFewshot ?? 0;
  if (!Number.isInteger(k) || k < 0) throw new LetheError(`numFewshot must be a non-negative integer, got ${k}`);
  return items.map((item) => {
    const description = options.description === undefined ? (item.subject === undefined ? '' : mcDescription(item.subject, style)) : options.description ?? '';
    const system = options.systemInstruction !== undefined && description
      ? `${options.systemInstruction}${FEWSHOT_DELIMITER}${description}`
      : options.systemInstruction ?? description;
    const shots = shotsFor(item, k, options.fewshotItems);
    const target = (shot: McItem) => mcDocChoices(shot, style)[shot.answer];
    const question = mcDocToText(item, style);
    const choices = mcDocChoices(item, style);
    let context: string;
    let delimiter = TARGET_DELIMITER;
    if (options.chat) {
      delimiter = ''; // the harness drops the target delimiter under a chat template
      const messages: ChatMessage[] = system ? [{ role: 'system', content: system }] : [];
      if (options.chat.fewshotAsMultiturn) {
        for (const shot of shots) messages.push({ role: 'user', content: mcDocToText(shot, style) }, { role: 'assistant', content: target(shot) });
        messages.push({ role: 'user', content: question });
      } else {
        const examples = shots.map((shot) => mcDocToText(shot, style) + TARGET_DELIMITER + target(shot) + FEWSHOT_DELIMITER).join('');
        messages.push({ role: 'user', content: examples + question });
      }
      context = options.chat.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
    } else {
      const examples = shots.map((shot) => mcDocToText(shot, style) + TARGET_DELIMITER + target(shot) + FEWSHOT_DELIMITER).join('');
      context = system + examples + question;
    }
    // _encode_pair: trailing whitespace of the context belongs to the continuation.
    const trimmed = context.trimEnd();
    const moved = context.slice(trimmed.length);
    if (trimmed === '') throw new LetheError(`${item.where}: the prompt is empty`);
    return { item, context: trimmed, continuations: choices.map((c) => moved + delimiter + c), choices };
  });
}

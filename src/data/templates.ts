// Prompt templates: how a question/answer pair becomes (prompt, target) text. Only target
// tokens carry loss (REFERENCE.md, notation), so the template must say where the answer starts.
import { LetheError } from '../engine/errors.ts';
import type { ChatMessage, Tokenizer } from '../models/tokenizer/tokenizer.ts';
import type { ItemSource, TextItem } from './qa-dataset.ts';

/** A sample x (prompt) and y (target): the loss lands on the target's tokens only. */
export interface PromptPair {
  prompt: string;
  target: string;
  /** The file and line the item came from, named in every error about it. */
  source?: ItemSource;
}

export interface PromptTemplate {
  readonly name: 'plain' | 'chat';
  /**
   * Whether the prompt is encoded with the tokenizer's special tokens (its BOS, if it adds
   * one). False when the template text already holds them, as chat templates do.
   */
  readonly promptSpecialTokens: boolean;
  /** Whether EOS should follow the target (false when the template already ends the turn). */
  readonly appendEos: boolean;
  /** The prompt alone, to generate the answer from. */
  prompt(question: string): string;
  /** The prompt and the target for a known answer; prompt(question) === pair(question, a).prompt. */
  pair(question: string, answer: string): PromptPair;
}

export const PLAIN_QUESTION_PREFIX = 'Question: ';
export const PLAIN_ANSWER_PREFIX = '\nAnswer: ';

/**
 * The plain template, exactly: prompt = "Question: " + question + "\nAnswer: ", target =
 * answer (EOS appended when batching). Used for models without a chat template (GPT-2, small
 * models trained from scratch). The trailing space belongs to the prompt's text; when the
 * tokenizer joins it to the answer's first word ("▁Par", "ĠThe") that token straddles the
 * boundary and is scored as the answer's (batches.ts).
 */
export function plainTemplate(): PromptTemplate {
  const prompt = (question: string): string => `${PLAIN_QUESTION_PREFIX}${question}${PLAIN_ANSWER_PREFIX}`;
  return {
    name: 'plain',
    promptSpecialTokens: true,
    appendEos: true,
    prompt,
    pair: (question, answer) => ({ prompt: prompt(question), target: answer }),
  };
}

/**
 * The model's own chat template (tokenizer_config.json): prompt = the rendering of
 * [system?, user: question] with add_generation_prompt; target = what the rendering of
 * [system?, user: question, assistant: answer] adds after it (the answer and the template's
 * end-of-turn tokens, so no EOS is appended). `systemPrompt` adds a system message first.
 */
export function chatTemplate(tokenizer: Tokenizer, options: { systemPrompt?: string } = {}): PromptTemplate {
  const head = (question: string): ChatMessage[] => [
    ...(options.systemPrompt === undefined ? [] : [{ role: 'system', content: options.systemPrompt }]),
    { role: 'user', content: question },
  ];
  const prompt = (question: string): string => tokenizer.applyChatTemplate(head(question), { addGenerationPrompt: true });
  return {
    name: 'chat',
    promptSpecialTokens: false,
    appendEos: false,
    prompt,
    pair(question, answer) {
      const promptText = prompt(question);
      const full = tokenizer.applyChatTemplate([...head(question), { role: 'assistant', content: answer }]);
      if (!full.startsWith(promptText)) {
        throw new LetheError(
          `${tokenizer.source}: the chat template does not render the prompt as the start of the conversation, so the answer cannot be separated from it`,
        );
      }
      return { prompt: promptText, target: full.slice(promptText.length) };
    },
  };
}

/** Pairs for question/answer items: `answerOf` picks the target (default: the answer); each keeps its item's source. */
export function templatePairs<T extends { question: string; answer: string; source?: ItemSource }>(
  template: PromptTemplate,
  items: readonly T[],
  answerOf: (item: T) => string = (item) => item.answer,
): PromptPair[] {
  return items.map((item) => {
    let pair: PromptPair;
    try {
      pair = template.pair(item.question, answerOf(item));
    } catch (err) {
      // A template that fails on this item (raise_exception, limits): name the item's line.
      if (err instanceof LetheError && item.source) throw new LetheError(`${item.source.file}:${item.source.line}: ${err.message}`);
      throw err;
    }
    return item.source ? { ...pair, source: item.source } : pair;
  });
}

/** Pairs for text documents (MUSE-style): no prompt, the document is the target; each keeps its source. */
export function textPairs(items: readonly TextItem[]): PromptPair[] {
  return items.map((item) => ({ prompt: '', target: item.text, source: item.source }));
}

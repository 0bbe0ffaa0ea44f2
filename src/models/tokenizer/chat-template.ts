// Chat templates are Jinja programs stored in tokenizer_config.json; @huggingface/jinja runs them
// as transformers' `apply_chat_template` does (it also provides `raise_exception`).
import { Template } from '@huggingface/jinja';
import { LetheError } from '../../engine/errors.ts';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | (string & {});
  content: string;
}

/**
 * Renders `messages` with `template`. `variables` holds the special-token strings
 * (bos_token, eos_token, ...) and add_generation_prompt, as transformers passes them.
 */
export function renderChatTemplate(
  template: string,
  messages: ChatMessage[],
  variables: Record<string, unknown>,
  source: string,
): string {
  let parsed: Template;
  try {
    parsed = new Template(template);
  } catch (err) {
    throw new LetheError(`${source}: the chat_template does not parse: ${(err as Error).message}`);
  }
  try {
    return parsed.render({ ...variables, messages });
  } catch (err) {
    throw new LetheError(`${source}: the chat_template failed on these messages: ${(err as Error).message}`);
  }
}

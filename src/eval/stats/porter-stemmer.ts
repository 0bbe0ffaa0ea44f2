/**
 * Porter stemmer as NLTK's `PorterStemmer()` runs it by default (mode NLTK_EXTENSIONS), the
 * stemmer Google's `rouge_score` uses, so ROUGE with stemming gives the same tokens.
 *
 * Why not an npm package: `stemmer`, `porter-stemmer` and `natural` implement Porter's own
 * variant and disagree with NLTK on ~1.5% of TOFU's vocabulary, including common words
 * (days → dai vs day, always, ages, died, carefully, biology). NLTK's departures from the
 * 1980 paper, all reproduced here:
 *  - a table of irregular forms (skies → sky, dying → die, news, proceed, ...);
 *  - words of length ≤ 2 are returned as they are;
 *  - 4-letter -ies/-ied keep "ie" (dies → die), longer ones become "i" (spied → spi);
 *  - step 1c turns y into i only after a consonant that is not the first letter (cry → cri,
 *    say → say);
 *  - *o also holds for a 2-letter vowel–consonant stem (owed → owe);
 *  - step 2 tries -alli first and re-runs step 2, uses -bli → ble, adds -fulli → ful and
 *    -logi → log (its measure taken with the "l" kept).
 * Input is expected lower-case ASCII (the ROUGE tokenizer guarantees it).
 */

const IRREGULAR = new Map<string, string>(Object.entries({
  sky: 'sky', skies: 'sky', dying: 'die', lying: 'lie', tying: 'tie', news: 'news',
  innings: 'inning', inning: 'inning', outings: 'outing', outing: 'outing',
  cannings: 'canning', canning: 'canning', howe: 'howe', proceed: 'proceed',
  exceed: 'exceed', succeed: 'succeed',
}));

function isConsonant(w: string, i: number): boolean {
  const c = w[i];
  if (c === 'a' || c === 'e' || c === 'i' || c === 'o' || c === 'u') return false;
  if (c === 'y') return i === 0 ? true : !isConsonant(w, i - 1);
  return true;
}

/** m in [C](VC)^m[V]: the number of vowel→consonant transitions. */
function measure(stem: string): number {
  let m = 0;
  for (let i = 1; i < stem.length; i++) if (!isConsonant(stem, i - 1) && isConsonant(stem, i)) m++;
  return m;
}

function containsVowel(stem: string): boolean {
  for (let i = 0; i < stem.length; i++) if (!isConsonant(stem, i)) return true;
  return false;
}

function endsDoubleConsonant(w: string): boolean {
  const n = w.length;
  return n >= 2 && w[n - 1] === w[n - 2] && isConsonant(w, n - 1);
}

/** *o: ends consonant–vowel–consonant, the last not w, x or y (or NLTK's 2-letter vowel–consonant). */
function endsCvc(w: string): boolean {
  const n = w.length;
  if (n >= 3 && isConsonant(w, n - 3) && !isConsonant(w, n - 2) && isConsonant(w, n - 1)) {
    return !'wxy'.includes(w[n - 1]);
  }
  return n === 2 && !isConsonant(w, 0) && isConsonant(w, 1);
}

type Rule = readonly [suffix: string, replacement: string, condition: ((stem: string) => boolean) | null];

/** The first rule whose suffix matches decides: applied if its condition holds, else the word stays. */
function applyRules(w: string, rules: readonly Rule[]): string {
  for (const [suffix, replacement, condition] of rules) {
    if (!w.endsWith(suffix)) continue;
    const stem = w.slice(0, w.length - suffix.length);
    return condition === null || condition(stem) ? stem + replacement : w;
  }
  return w;
}

const mGt0 = (s: string): boolean => measure(s) > 0;
const mGt1 = (s: string): boolean => measure(s) > 1;

function step1a(w: string): string {
  if (w.length === 4 && w.endsWith('ies')) return w.slice(0, -3) + 'ie';
  return applyRules(w, [['sses', 'ss', null], ['ies', 'i', null], ['ss', 'ss', null], ['s', '', null]]);
}

function step1b(w: string): string {
  if (w.endsWith('ied')) return w.slice(0, -3) + (w.length === 4 ? 'ie' : 'i');
  if (w.endsWith('eed')) {
    const stem = w.slice(0, -3);
    return measure(stem) > 0 ? stem + 'ee' : w;
  }
  let stem: string | null = null;
  for (const suffix of ['ed', 'ing']) {
    if (w.endsWith(suffix) && containsVowel(w.slice(0, -suffix.length))) {
      stem = w.slice(0, -suffix.length);
      break;
    }
  }
  if (stem === null) return w;
  if (stem.endsWith('at') || stem.endsWith('bl') || stem.endsWith('iz')) return stem + 'e';
  if (endsDoubleConsonant(stem)) return 'lsz'.includes(stem[stem.length - 1]) ? stem : stem.slice(0, -1);
  return measure(stem) === 1 && endsCvc(stem) ? stem + 'e' : stem;
}

function step1c(w: string): string {
  return applyRules(w, [['y', 'i', (s) => s.length > 1 && isConsonant(s, s.length - 1)]]);
}

function step2(w: string): string {
  if (w.endsWith('alli') && mGt0(w.slice(0, -4))) return step2(w.slice(0, -4) + 'al');
  return applyRules(w, [
    ['ational', 'ate', mGt0], ['tional', 'tion', mGt0], ['enci', 'ence', mGt0],
    ['anci', 'ance', mGt0], ['izer', 'ize', mGt0], ['bli', 'ble', mGt0], ['alli', 'al', mGt0],
    ['entli', 'ent', mGt0], ['eli', 'e', mGt0], ['ousli', 'ous', mGt0], ['ization', 'ize', mGt0],
    ['ation', 'ate', mGt0], ['ator', 'ate', mGt0], ['alism', 'al', mGt0], ['iveness', 'ive', mGt0],
    ['fulness', 'ful', mGt0], ['ousness', 'ous', mGt0], ['aliti', 'al', mGt0], ['iviti', 'ive', mGt0],
    ['biliti', 'ble', mGt0], ['fulli', 'ful', mGt0], ['logi', 'log', () => mGt0(w.slice(0, -3))],
  ]);
}

function step3(w: string): string {
  return applyRules(w, [
    ['icate', 'ic', mGt0], ['ative', '', mGt0], ['alize', 'al', mGt0], ['iciti', 'ic', mGt0],
    ['ical', 'ic', mGt0], ['ful', '', mGt0], ['ness', '', mGt0],
  ]);
}

function step4(w: string): string {
  return applyRules(w, [
    ['al', '', mGt1], ['ance', '', mGt1], ['ence', '', mGt1], ['er', '', mGt1], ['ic', '', mGt1],
    ['able', '', mGt1], ['ible', '', mGt1], ['ant', '', mGt1], ['ement', '', mGt1], ['ment', '', mGt1],
    ['ent', '', mGt1], ['ion', '', (s) => mGt1(s) && (s.endsWith('s') || s.endsWith('t'))],
    ['ou', '', mGt1], ['ism', '', mGt1], ['ate', '', mGt1], ['iti', '', mGt1], ['ous', '', mGt1],
    ['ive', '', mGt1], ['ize', '', mGt1],
  ]);
}

function step5(w: string): string {
  if (w.endsWith('e')) {
    const stem = w.slice(0, -1);
    const m = measure(stem);
    if (m > 1 || (m === 1 && !endsCvc(stem))) w = stem;
  }
  return w.endsWith('ll') && measure(w.slice(0, -1)) > 1 ? w.slice(0, -1) : w;
}

/** The stem of a lower-case word, equal to `nltk.stem.porter.PorterStemmer().stem(word)`. */
export function porterStem(word: string): string {
  const irregular = IRREGULAR.get(word);
  if (irregular !== undefined) return irregular;
  if (word.length <= 2) return word;
  return step5(step4(step3(step2(step1c(step1b(step1a(word)))))));
}

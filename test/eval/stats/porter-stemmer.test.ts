// The Porter stemmer against NLTK's PorterStemmer() output (fixture from
// scripts/make-metric-fixtures.py), and the NLTK departures from the 1980 paper by name.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { porterStem } from '../../../src/eval/stats/porter-stemmer.ts';

const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/metrics/porter-stems.json', import.meta.url), 'utf8'),
) as { stems: Record<string, string> };

test('every fixture word stems as NLTK stems it', () => {
  const words = Object.entries(fixture.stems);
  assert.ok(words.length > 2000);
  const wrong = words.filter(([w, s]) => porterStem(w) !== s).map(([w, s]) => `${w}: ${porterStem(w)} ≠ ${s}`);
  assert.deepEqual(wrong, []);
});

test("NLTK's extensions", () => {
  const cases: Record<string, string> = {
    skies: 'sky', dying: 'die', news: 'news', proceed: 'proceed', // irregular forms
    dies: 'die', spied: 'spi', // 4-letter -ies/-ied
    cry: 'cri', say: 'say', days: 'day', // y → i only after a non-initial consonant
    owed: 'owe', // *o on a 2-letter stem
    radically: 'radic', hopefully: 'hope', biology: 'biolog', // alli, fulli, logi
    constructor: 'constructor', // not an object key lookup
  };
  for (const [word, stem] of Object.entries(cases)) assert.equal(porterStem(word), stem, word);
});

test("words from the paper's examples, stemmed through all steps (values from NLTK)", () => {
  const cases: Record<string, string> = {
    caresses: 'caress', ponies: 'poni', agreed: 'agre', plastered: 'plaster', motoring: 'motor',
    hopping: 'hop', falling: 'fall', filing: 'file', relational: 'relat', electrical: 'electr',
    adoption: 'adopt', controll: 'control', generalization: 'gener',
  };
  for (const [word, stem] of Object.entries(cases)) assert.equal(porterStem(word), stem, word);
});

/**
 * Where each key is written, derived from the section schemas (and their calls' arguments),
 * for "`epochs` goes in `train { }`" when a key is written in the wrong section.
 */
import { joinOr, keysOf, type SectionSchema } from './schema.ts';
import { INJECT } from './sections/inject.ts';
import { LOR2C } from './sections/lor2c.ts';
import { LORA } from './sections/lora.ts';
import { MERGE } from './sections/merge.ts';
import { TEXT } from './sections/text.ts';
import { TOP } from './sections/top.ts';
import { TRAIN } from './sections/train/train.ts';

/** The sections a key may be written in, in the order a spec usually has them. */
export const SECTIONS: readonly SectionSchema<unknown>[] = [TOP, LOR2C, LORA, MERGE, INJECT, TRAIN, TEXT];

function derive(): Record<string, string> {
  const homes = new Map<string, string[]>();
  for (const s of SECTIONS) for (const key of keysOf(s)) homes.set(key, [...(homes.get(key) ?? []), s.home]);
  const out: Record<string, string> = Object.fromEntries([...homes].map(([key, list]) => [key, joinOr(list)]));
  // A call's argument goes in the first form that takes it, the default form first (`lr`:
  // `optimizer adamw(lr 4e-4)`), unless a section has the key.
  for (const s of SECTIONS) {
    for (const [setting, { variants, default: fallback }] of Object.entries(s.settings)) {
      const first = (fallback as { kind?: string } | undefined)?.kind;
      const forms = Object.entries(variants ?? {}).sort(([a], [b]) => Number(b === first) - Number(a === first));
      for (const [kind, variant] of forms) {
        for (const key of variant.args ? keysOf(variant.args) : []) {
          if (Object.hasOwn(out, key)) continue;
          const shown = variant.example?.split(',')[0]?.startsWith(`${key} `) ? variant.example.split(',')[0] : `${key} ...`;
          out[key] = `\`${setting} ${kind}(${shown})\` in ${s.home}`;
        }
      }
    }
  }
  return out;
}

export const KEY_HOMES: Readonly<Record<string, string>> = derive();

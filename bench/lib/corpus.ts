import { seededRandom } from "../../packages/core/test/helpers/random-routes.ts";

const WORDS =
  "the deploy failed on friday because kubernetes ran out of memory so we rolled back the billing service and paged ops while the cache warmed up again before noon customers noticed slow invoices".split(
    " ",
  );

/** The store benches' message text: one seeded generator, so SQLite and PostgreSQL index the same words. */
export function messageCorpus(seed = 3): { rand: () => number; sentence: (n: number) => string } {
  const rand = seededRandom(seed);
  const sentence = (n: number) =>
    Array.from({ length: n }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(" ");
  return { rand, sentence };
}

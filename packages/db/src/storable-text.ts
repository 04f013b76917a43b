/**
 * Text PostgreSQL can store. It refuses U+0000 in text and jsonb, and a lone UTF-16 surrogate has no
 * UTF-8 form: the driver would silently store U+FFFD in text (the content would not round-trip) and
 * jsonb rejects it outright. The writer refuses such text, naming the field; a producer of text it does
 * not control (an agent's answer) makes it storable first.
 */
export const isStorableText = (text: string): boolean => !text.includes("\u0000") && text.isWellFormed();

/** `text` with every NUL and lone surrogate replaced by U+FFFD, so it is recorded rather than lost. */
export const toStorableText = (text: string): string => text.replaceAll("\u0000", "\ufffd").toWellFormed();

export const UNSTORABLE_TEXT_MESSAGE =
  "must not contain the NUL character (U+0000) or a lone UTF-16 surrogate, which PostgreSQL cannot store in text";

/**
 * The bounds on what the language tools read, so that time and memory stay linear in the input
 * and small for any text. Each is far above what a real spec needs (a spec is a few KB, nests
 * three or four levels, and has a handful of errors); input beyond one is refused or cut with
 * a diagnostic that says which bound it met, never silently.
 */

/** A spec longer than this (in UTF-16 code units, as JavaScript counts string length) is not read at all. */
export const MAX_SPEC_LENGTH = 1024 * 1024;

/** Longest string literal: paths and name patterns; Linux's PATH_MAX is 4096. */
export const MAX_STRING_LENGTH = 4096;

/**
 * Bracket depth. The recursive-descent parser would exhaust the stack at a few hundred; tokens
 * from the first bracket deeper than this are not parsed.
 */
export const MAX_NESTING = 64;

/**
 * Syntax errors before the parser stops. Error recovery costs stack per error, and after this
 * many the rest of the file is usually the echo of one early mistake.
 */
export const MAX_SYNTAX_ERRORS = 100;

/**
 * Lexing errors (characters no token starts with) listed one by one; past this many, one
 * diagnostic counts the rest. A binary file fed as a spec has one at nearly every line.
 */
export const MAX_LEXING_ERRORS = 100;

/** Characters of an unexpected run shown in its message. */
export const MAX_SHOWN_CHARACTERS = 20;

/** Words longer than this get no "did you mean" suggestion (a typo suggestion for a longer name is guesswork). */
export const MAX_SUGGESTED_WORD = 64;

/**
 * Edit-distance work for "did you mean" suggestions over the whole check, in table cells. The
 * candidates include every `let`, so without a budget many undefined names against many `let`s
 * would cost their product; past it, hints fall back to their generic wording.
 */
export const SUGGESTION_BUDGET = 20_000_000;

/**
 * Training progress for people. On a terminal: one line redrawn in place (at most ~10 times a
 * second) with step/total, loss, lr, examples/s (or tokens/s) and ETA. Elsewhere (CI, a file,
 * a pipe): a plain line every `plainEvery` steps or `plainSeconds`, whichever comes first, and
 * always the last step, so logs stay readable and short.
 */

export interface ProgressUpdate {
  step: number;
  loss: number;
  lr?: number;
  /** Examples and tokens in this step (tokens: 0 when the data has no sequence dim). */
  examples: number;
  tokens?: number;
}

export interface ProgressOptions {
  total: number;
  /** Where to write (default process.stderr). */
  stream?: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  /** Overrides stream.isTTY. */
  tty?: boolean;
  /** Clock in milliseconds (tests). */
  now?: () => number;
  /** Minimum milliseconds between redraws on a TTY. */
  redrawMs?: number;
  plainEvery?: number;
  plainSeconds?: number;
  /** Report tokens/s instead of examples/s. */
  tokens?: boolean;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const mm = String(m).padStart(2, '0'), ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? x.toExponential(2) : x.toPrecision(4);
}

export class Progress {
  private readonly stream: NonNullable<ProgressOptions['stream']>;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly start: number;
  private lastDraw = -Infinity;
  private lastPlainStep = 0;
  private lastPlainTime: number;
  private examples = 0;
  private tokens = 0;
  private firstStep: number | undefined;
  private drawn = false;
  private last: ProgressUpdate | undefined;

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = opts.tty ?? Boolean(this.stream.isTTY);
    this.now = opts.now ?? (() => performance.now());
    this.start = this.now();
    this.lastPlainTime = this.start;
  }

  /** The status text for the latest update. */
  line(u: ProgressUpdate): string {
    const elapsed = (this.now() - this.start) / 1000;
    const done = u.step - (this.firstStep ?? u.step) + 1;
    const rate = elapsed > 0 ? (this.opts.tokens ? this.tokens : this.examples) / elapsed : NaN;
    const stepsPerSecond = elapsed > 0 ? done / elapsed : NaN;
    const eta = (this.opts.total - u.step) / stepsPerSecond;
    const width = String(this.opts.total).length;
    const parts = [
      `step ${String(u.step).padStart(width)}/${this.opts.total}`,
      `loss ${formatNumber(u.loss)}`,
      ...(u.lr !== undefined ? [`lr ${formatNumber(u.lr)}`] : []),
      `${Number.isFinite(rate) ? formatNumber(rate) : '-'} ${this.opts.tokens ? 'tok' : 'ex'}/s`,
      `ETA ${formatDuration(eta)}`,
    ];
    return parts.join('  ');
  }

  update(u: ProgressUpdate): void {
    this.firstStep ??= u.step;
    this.examples += u.examples;
    this.tokens += u.tokens ?? 0;
    this.last = u;
    const t = this.now();
    const final = u.step >= this.opts.total;
    if (this.tty) {
      if (!final && t - this.lastDraw < (this.opts.redrawMs ?? 100)) return;
      this.lastDraw = t;
      const bar = this.bar(u.step);
      let text = `${bar} ${this.line(u)}`;
      const cols = this.stream.columns;
      if (cols && text.length > cols - 1) text = text.slice(0, cols - 1);
      this.stream.write(`\r\x1b[2K${text}`);
      this.drawn = true;
      return;
    }
    const every = this.opts.plainEvery ?? Math.max(1, Math.round(this.opts.total / 20));
    const seconds = this.opts.plainSeconds ?? 30;
    if (final || u.step - this.lastPlainStep >= every || t - this.lastPlainTime >= seconds * 1000) {
      this.lastPlainStep = u.step;
      this.lastPlainTime = t;
      this.stream.write(this.line(u) + '\n');
    }
  }

  /** A line of its own (an evaluation result, an event) without breaking the bar. */
  note(text: string): void {
    if (this.tty && this.drawn) this.stream.write('\r\x1b[2K');
    this.stream.write(text + '\n');
    if (this.tty && this.last && this.drawn) this.stream.write(`${this.bar(this.last.step)} ${this.line(this.last)}`);
  }

  /** Ends the bar's line on a terminal. */
  finish(): void {
    if (this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }

  private bar(step: number): string {
    const width = 20;
    const filled = Math.max(0, Math.min(width, Math.round((step / Math.max(1, this.opts.total)) * width)));
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  }
}

/**
 * A Node trainer host that records every session it opens and releases: what the tests of
 * "one copy of the frozen weights at a time" read (each ORT session holds its own copy).
 */
import { nodeHost } from '../../runtime/node-host.ts';
import type { TrainerHost } from '../../runtime/trainer-host.ts';

export interface SessionRecorder {
  host: TrainerHost;
  /** `open FILE` / `release FILE`, in order. */
  events: string[];
  /** The most sessions open at one time. */
  readonly most: number;
}

export function recordSessions(base: TrainerHost = nodeHost): SessionRecorder {
  const events: string[] = [];
  let open = 0, most = 0;
  const host: TrainerHost = {
    ...base,
    openGraph: async (dir, file, settings) => {
      const session = await base.openGraph(dir, file, settings);
      events.push(`open ${file}`);
      most = Math.max(most, ++open);
      return { inputNames: session.inputNames, outputNames: session.outputNames, provider: session.provider, run: (f, o) => session.run(f, o), release: () => (events.push(`release ${file}`), open--, session.release()) };
    },
  };
  return { host, events, get most() { return most; } };
}

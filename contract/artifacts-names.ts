/** The names of an artifacts folder's files lor2c gives (artifacts-folder.ts owns the folder; these are plain facts a page may use too). */
export const MANIFEST_FILE = 'manifest.json';
export const BINDINGS_FILE = 'bindings.ts';
/** How the artifacts read raw text (`compile --tokenizer`); the runtime's text-config.ts reads and writes it. */
export const TEXT_CONFIG = 'text.json';
/** Links to the base model's own external data files (compile keeps large weights there). */
export const LINKED_DATA_DIR = 'base-data';

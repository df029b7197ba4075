/**
 * The worker thread that parses and validates mapping files (parse-off-thread.ts starts it): YAML
 * parsing of a file at the size cap takes seconds, which must not stall the event loop that serves
 * traffic. Says which file it is on before each, so that a timeout can name it. Positions are sent
 * packed (loader.ts's PackedFile): a Map of them would cost the event loop half a second to receive.
 */
import { parentPort } from 'node:worker_threads';
import { packParsed, parseMappingFile, type MappingFile } from './loader.js';

const port = parentPort;
if (port === null) throw new Error('parse-worker.ts runs as a worker thread');
port.once('message', (files: MappingFile[]) => {
  const results = files.map((f) => {
    port.postMessage({ parsing: f.file });
    return packParsed(parseMappingFile(f));
  });
  port.postMessage({ results });
});
